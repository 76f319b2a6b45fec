#!/usr/bin/env bash
# Tokenizer throughput, hearth beside llama.cpp (node-llama-cpp 3.22.1's prebuilt CPU build) on
# the same GGUF vocabularies and the same ~1 MiB text. Rounds alternate which side runs first
# (the machine is shared: interleaving spreads the noise over both); prints a Markdown table of
# medians and ratios for docs/PERFORMANCE.md. Usage: run_tokenizer_bench.sh [BUILD_DIR]
# (a Release build with -DHEARTH_BUILD_BENCH=ON). Env: ROUNDS (5), SAMPLES per round (3),
# MIN_SECONDS per sample (0.3), HEARTH_TESTDATA.
set -euo pipefail

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$source_dir/build-bench}" && pwd)"
testdata="${HEARTH_TESTDATA:-$source_dir/../shared/testdata}"
rounds="${ROUNDS:-5}"
samples="${SAMPLES:-3}"
min_seconds="${MIN_SECONDS:-0.3}"
bench="$build/bench/hearth_tokenizer_bench"
hearth="$build/src/hearth/cli/hearth"
work="$build/tokenizer-bench"

for program in "$bench" "$hearth"; do
  [ -x "$program" ] ||
    { echo "missing $program: build targets hearth_tokenizer_bench and hearth" >&2; exit 1; }
done
command -v node >/dev/null && command -v python3 >/dev/null ||
  { echo "needs node and python3" >&2; exit 1; }
source "$source_dir/scripts/node_packages.sh"
install_node_llama_cpp "$work/node"
# ES modules resolve packages from the script's own folder: run a copy beside node_modules.
cp "$source_dir/bench/llama_cpp_tokenize.mjs" "$work/node/"

# Llama 3's vocabulary exists only as tokenizer.json in testdata: put it in a GGUF once.
llama3="$work/llama3-vocab.gguf"
[ -f "$llama3" ] || "$hearth" synth --arch llama --preset tiny --type f16 \
  --vocab "$testdata/tokenizers/llama3_1/tokenizer.json" -o "$llama3" >/dev/null
vocabs=(
  "qwen3=$testdata/models/tiny-qwen3-f16.gguf"
  "llama3=$llama3"
  "gemma3=$testdata/models/tiny-gemma3-f16.gguf"
  "llama2=$testdata/tokenizers/llama2_meta_gguf/ggml-vocab-llama-spm.gguf"
)
vocab_flags=()
for vocab in "${vocabs[@]}"; do vocab_flags+=("--vocab=$vocab"); done

run_hearth() {
  HEARTH_TESTDATA="$testdata" "$bench" --text="$work/text.txt" "${vocab_flags[@]}" \
    --benchmark_repetitions="$samples" --benchmark_min_time="$min_seconds" \
    --benchmark_format=json >"$work/hearth-$1.json"
}
# node-llama-cpp sizes memory by trying a full load first, so the vocabulary-only Llama 2 file
# logs "missing tensor 'token_embd.weight'" before loading fine with vocabOnly (untimed).
run_llama_cpp() {
  NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node "$work/node/llama_cpp_tokenize.mjs" "$work/text.txt" \
    "$samples" "$min_seconds" "${vocabs[@]}" >"$work/llama_cpp-$1.jsonl"
}
rm -f "$work"/hearth-*.json "$work"/llama_cpp-*.jsonl
for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds" >&2
  # hearth first in odd rounds; round 1 also writes the text llama.cpp reads.
  if [ $((round % 2)) -eq 1 ]; then
    run_hearth "$round" && run_llama_cpp "$round"
  else
    run_llama_cpp "$round" && run_hearth "$round"
  fi
done

python3 - "$work" "$rounds" <<'EOF'
import json, pathlib, statistics, sys
work, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2])
hearth, llama = {}, {}  # name -> {"wall": [s], "cpu": [s], "tokens": n, "hash": h}
text_bytes = None
for r in range(1, rounds + 1):
    report = json.loads((work / f"hearth-{r}.json").read_text())
    text_bytes = int(report["context"]["text_bytes"])
    for b in report["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        name = b["run_name"].split("/")[1]
        entry = hearth.setdefault(name, {"wall": [], "cpu": []})
        entry["wall"].append(b["real_time"] / 1e3)  # milliseconds
        entry["cpu"].append(b["cpu_time"] / 1e3)
        entry["tokens"], entry["hash"] = int(b["tokens"]), int(b["ids_hash"])
    for line in (work / f"llama_cpp-{r}.jsonl").read_text().splitlines():
        s = json.loads(line)
        entry = llama.setdefault(s["name"], {"wall": [], "cpu": []})
        entry["wall"] += s["wall"]
        entry["cpu"] += s["cpu"]
        entry["tokens"], entry["hash"] = s["tokens"], s["ids_hash"]

mbps = lambda seconds: text_bytes / 1e6 / statistics.median(seconds)
print(f"text: {text_bytes} bytes, {rounds} rounds; MB/s = 10^6 bytes per second of process CPU "
      "time (CPU) or of elapsed time (wall), medians over all samples\n")
print("| vocabulary | hearth MB/s (CPU) | llama.cpp MB/s (CPU) | ratio (CPU) "
      "| hearth MB/s (wall) | llama.cpp MB/s (wall) | ratio (wall) "
      "| tokens hearth | tokens llama.cpp | same ids |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for name in ["qwen3", "llama3", "gemma3", "llama2"]:
    h, l = hearth.get(name), llama.get(name)
    if not h or not l:
        print(f"| {name} | skipped: {'hearth' if not h else 'llama.cpp'} has no result |")
        continue
    row = [name]
    for clock in ("cpu", "wall"):
        row += [f"{mbps(h[clock]):.2f}", f"{mbps(l[clock]):.2f}",
                f"{mbps(h[clock]) / mbps(l[clock]):.2f}x"]
    row += [str(h["tokens"]), str(l["tokens"]),
            "yes" if h["hash"] == l["hash"] and h["tokens"] == l["tokens"] else "**NO**"]
    print("| " + " | ".join(row) + " |")
print("\nsamples per vocabulary: " + ", ".join(
    f"{name} {len(h['cpu'])} hearth / {len(llama.get(name, {'cpu': []})['cpu'])} llama.cpp"
    for name, h in hearth.items()))
EOF
