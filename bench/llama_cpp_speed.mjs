// llama.cpp's prompt-processing and generation speed on a GGUF file, measured through
// node-llama-cpp's prebuilt CPU binary the way `hearth bench` measures hearth: pp = N random
// tokens evaluated into an empty context (batch 512), tg = N tokens generated greedily one at a
// time from an empty context; a warm-up run, then REPS runs. Prints JSON {pp: [t/s...], tg: [...]}.
// Usage: node llama_cpp_speed.mjs MODEL THREADS N_PROMPT N_GEN REPS (beside node_modules).
import {getLlama} from "node-llama-cpp";

const [modelPath, threadsArg, nPromptArg, nGenArg, repsArg] = process.argv.slice(2);
const threads = Number(threadsArg), nPrompt = Number(nPromptArg), nGen = Number(nGenArg);
const reps = Number(repsArg);
const llama = await getLlama({
  gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
  progressLogs: false, logLevel: "error", maxThreads: threads,
});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({
  contextSize: Math.max(nPrompt, nGen) + 16, batchSize: 512, threads, sequences: 1,
});
const sequence = context.getSequence();
const nVocab = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
let state = 1234;
const randomToken = () => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state % nVocab;
};

async function promptRate() {
  await sequence.clearHistory();
  const tokens = Array.from({length: nPrompt}, randomToken);
  const start = process.hrtime.bigint();
  await sequence.evaluateWithoutGeneratingNewTokens(tokens);
  return nPrompt / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function generationRate() {
  await sequence.clearHistory();
  let generated = 0;
  const start = process.hrtime.bigint();
  for await (const token of sequence.evaluate([randomToken()], {temperature: 0})) {
    if (++generated >= nGen) break;
  }
  return nGen / (Number(process.hrtime.bigint() - start) / 1e9);
}

const result = {pp: [], tg: []};
for (const [name, measure, n] of [["pp", promptRate, nPrompt], ["tg", generationRate, nGen]]) {
  if (n <= 0) continue;
  await measure();  // warm-up
  for (let r = 0; r < reps; ++r) result[name].push(await measure());
}
console.log(JSON.stringify(result));
await context.dispose();
await model.dispose();
await llama.dispose();
