// Runs `hearth synth` models through llama.cpp (node-llama-cpp's prebuilt CPU binary) and writes
// small golden files of its logits: for each prompt the top-64 logits, the RMS over the whole
// vocabulary and the argmax at the last position (every position for prompt 0), and a 32-token
// greedy continuation with each step's top-1 logit and margin. Format: tests/data/README.md.
// Usage (from make_goldens.sh, beside node_modules): node make_goldens.mjs OUT_DIR SPEC_JSON...
// where each SPEC_JSON is {"name", "path", "synth": {...}} describing one model file.
import fs from "node:fs";
import path from "node:path";
import {getLlama} from "node-llama-cpp";

const kTop = 64;
const kGreedy = 32;
const kPrompts = [
  "The capital of France is",
  "Hello, world! This is a test.",
  "In 2024, the café served 3.14 crêpes — naïve résumé? 日本語 🦙",
  "Once upon a time, in a small village nestled between rolling hills and a quiet river, " +
      "there lived an old clockmaker who repaired every broken clock in the region. One winter " +
      "morning, a stranger arrived carrying a strange silver watch.",
];

// FNV-1a 32 over the whole file: the test recomputes it to be sure `hearth synth` still writes
// the very file these goldens were made from.
function fnv1a32(bytes) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; ++i) hash = Math.imul(hash ^ bytes[i], 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

const round = (x) => Number(x.toPrecision(7));

// logits: Map token -> logit sorted by logit descending (node-llama-cpp's order).
function summarize(logits, nVocab) {
  let sumSquares = 0;
  for (const value of logits.values()) sumSquares += value * value;
  const entries = [...logits.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  if (entries.length !== nVocab) throw new Error(`${entries.length} logits, expected ${nVocab}`);
  return {
    argmax: entries[0][0],
    margin: round(entries[0][1] - entries[1][1]),
    rms: round(Math.sqrt(sumSquares / nVocab)),
    top: entries.slice(0, kTop).map(([id, logit]) => [id, round(logit)]),
  };
}

const llama = await getLlama({
  gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
  progressLogs: false, logLevel: "error", maxThreads: 1,
});
const [outDir, ...specs] = process.argv.slice(2);
for (const specText of specs) {
  const spec = JSON.parse(specText);
  const started = Date.now();
  const bytes = fs.readFileSync(spec.path);
  const model = await llama.loadModel({modelPath: spec.path, gpuLayers: 0});
  const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
  const context = await model.createContext({
    contextSize: 256, batchSize: 256, threads: 1, flashAttention: false, swaFullCache: true,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  });
  const golden = {
    model: {...spec.synth, file_bytes: bytes.length, fnv1a32: fnv1a32(bytes),
            architecture: model.fileInfo.metadata.general.architecture},
    n_vocab: nVocab,
    reference: {node_llama_cpp: "3.22.1", llama_cpp_release: "v0.5.0",
                backend: "CPU (prebuilt @node-llama-cpp/linux-x64)"},
    settings: {threads: 1, context_size: 256, batch_size: 256, kv_cache: "f32",
               flash_attention: false, top: kTop,
               greedy: "argmax of the raw logits, each token fed back alone"},
    prompts: [],
  };
  const sequence = context.getSequence();
  for (const [index, text] of kPrompts.entries()) {
    await sequence.clearHistory();
    // llama.cpp's common_tokenize(text, add_special): BOS first when the vocabulary asks for it.
    const tokens = model.tokenize(text);
    if (model.fileInfo.metadata.tokenizer.ggml.add_bos_token && model.tokens.bos != null) {
      tokens.unshift(model.tokens.bos);
    }
    const allPositions = index === 0;
    const input = tokens.map((token, i) =>
      allPositions || i + 1 === tokens.length ? [token, {generateNext: {logits: true}}] : token);
    const results = await sequence.controlledEvaluate(input);
    const positions = [];
    for (let i = 0; i < tokens.length; ++i) {
      if (results[i]?.next?.logits) positions.push({index: i, ...summarize(results[i].next.logits, nVocab)});
    }
    const greedy = [];
    const margins = [];
    const topLogits = [];
    let next = positions[positions.length - 1];
    for (let step = 0; step < kGreedy; ++step) {
      greedy.push(next.argmax);
      margins.push(next.margin);
      topLogits.push(next.top[0][1]);
      if (step + 1 === kGreedy) break;
      const [result] = await sequence.controlledEvaluate([[next.argmax, {generateNext: {logits: true}}]]);
      next = summarize(result.next.logits, nVocab);
    }
    golden.prompts.push({text, tokens: [...tokens], positions,
                         greedy: {tokens: greedy, step_margins: margins,
                                                 step_top_logits: topLogits}});
  }
  const out = path.join(outDir, `${spec.name}.golden.json`);
  fs.writeFileSync(out, JSON.stringify(golden) + "\n");
  console.log(`${spec.name}: ${golden.model.architecture}, vocab ${nVocab} -> ${out} ` +
              `(${Date.now() - started} ms)`);
  await context.dispose();
  await model.dispose();
}
await llama.dispose();
