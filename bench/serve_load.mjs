// Load generator for bench/serve.sh: for each concurrency level, that many clients each stream
// REQUESTS completions from `hearth serve` (POST /v1/completions, stream: true, a fixed token
// budget, a distinct prompt and seed per request) at the same time; prints one JSON line per level
// with the aggregate tokens/s (all tokens over the wall time of the level), per-stream tokens/s
// (each request's tokens after its first over the time since its first), and time to first token;
// then the same as a Markdown table with the gain over the first level. Node.js 20's fetch; no
// packages. Usage: node serve_load.mjs BASE_URL MAX_TOKENS REQUESTS LEVEL...
const [baseUrl, maxTokensArg, requestsArg, ...levelArgs] = process.argv.slice(2);
if (!baseUrl || levelArgs.length === 0) {
  console.error("usage: node serve_load.mjs BASE_URL MAX_TOKENS REQUESTS LEVEL...");
  process.exit(2);
}
const maxTokens = Number(maxTokensArg);
const requestsPerClient = Number(requestsArg);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
};

// One streamed completion: its token count (from the final usage chunk), the time to its first
// text chunk, and its end, in ms from `start`.
async function streamOne(id) {
  const start = performance.now();
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({
      prompt: `Request ${id}: tell a long story about the number ${id}.`,
      max_tokens: maxTokens,
      temperature: 1.0,
      seed: id,
      stream: true,
      stream_options: {include_usage: true},
    }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  let firstToken = null;
  let tokens = null;
  let pending = "";
  const decoder = new TextDecoder();
  for await (const bytes of response.body) {
    pending += decoder.decode(bytes, {stream: true});
    let newline;
    while ((newline = pending.indexOf("\n\n")) >= 0) {
      const event = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 2);
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const chunk = JSON.parse(event.slice(6));
      if (chunk.error) throw new Error(JSON.stringify(chunk.error));
      if (firstToken === null && chunk.choices?.[0]?.text) firstToken = performance.now() - start;
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  if (tokens === null || firstToken === null) throw new Error(`request ${id}: no text or usage`);
  return {tokens, firstToken, end: performance.now() - start};
}

let nextId = 0;
const rows = [];
for (const level of levelArgs.map(Number)) {
  const results = [];
  const started = performance.now();
  await Promise.all(Array.from({length: level}, async () => {
    for (let i = 0; i < requestsPerClient; ++i) results.push(await streamOne(++nextId));
  }));
  const wall = (performance.now() - started) / 1000;
  const tokens = results.reduce((sum, r) => sum + r.tokens, 0);
  const perStream = results.map((r) => (r.tokens - 1) / ((r.end - r.firstToken) / 1000));
  const ttft = results.map((r) => r.firstToken);
  rows.push({
    streams: level,
    requests: results.length,
    tokens,
    wall_s: wall,
    aggregate_tokens_per_s: tokens / wall,
    per_stream_tokens_per_s: median(perStream),
    ttft_ms_median: median(ttft),
    ttft_ms_p90: percentile(ttft, 0.9),
  });
  console.log(JSON.stringify(rows.at(-1)));
}
console.log(`
| streams | requests | aggregate tok/s | per-stream tok/s (median) | TTFT median ms | TTFT p90 ms | aggregate vs first row |
|---:|---:|---:|---:|---:|---:|---:|`);
for (const r of rows) {
  console.log(`| ${r.streams} | ${r.requests} | ${r.aggregate_tokens_per_s.toFixed(1)} | ` +
              `${r.per_stream_tokens_per_s.toFixed(1)} | ${r.ttft_ms_median.toFixed(0)} | ` +
              `${r.ttft_ms_p90.toFixed(0)} | ` +
              `${(r.aggregate_tokens_per_s / rows[0].aggregate_tokens_per_s).toFixed(2)}x |`);
}
