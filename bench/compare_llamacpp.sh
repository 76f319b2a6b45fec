#!/usr/bin/env bash
# Decode and prefill speed, hearth beside llama.cpp (node-llama-cpp 3.22.1's prebuilt CPU build)
# on the same synthetic GGUF files with the same thread count, in one run: for each model,
# `hearth bench --json` and bench/llama_cpp_speed.mjs alternate for ROUNDS rounds of REPS runs
# each, which side goes first alternating by round; prints a Markdown table of the medians over
# all runs, ratios, and the decode ceiling (the median read bandwidth measured by hearth bench
# around its own runs of the row / bytes of weights per token), and the same ceiling from the
# same passes' read of the weights' own pages. Usage: compare_llamacpp.sh
# [BUILD_DIR] (a Release build).
# Env: THREADS (2), N_PROMPT (512), N_GEN (128), REPS (3), ROUNDS (2), MODELS (default list, as
# arch:preset:type[:layers], the optional layer count keeping the first layers of a shape too
# big for the machine), WORK (BUILD_DIR/compare-llamacpp). hearth's load reads the file again
# into 2 MiB pages where the page cache holds it in small folios (llama.cpp's reads leave it so);
# llama.cpp does not ask for huge pages, so with THP in "madvise" mode it maps 4 KiB pages.
set -euo pipefail

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$source_dir/build/release}" && pwd)"
hearth="$build/src/hearth/cli/hearth"
threads="${THREADS:-2}"
n_prompt="${N_PROMPT:-512}"
n_gen="${N_GEN:-128}"
reps="${REPS:-3}"
rounds="${ROUNDS:-2}"
work="${WORK:-$build/compare-llamacpp}"
models="${MODELS:-qwen3:qwen3-0.6b:q8_0 qwen3:qwen3-0.6b:q4_0 llama:llama-3.2-1b:q4_0 llama:llama-3.2-1b:q4_k_m}"

[ -x "$hearth" ] || { echo "missing $hearth: build the hearth target" >&2; exit 1; }
command -v node >/dev/null && command -v python3 >/dev/null || { echo "needs node and python3" >&2; exit 1; }
mkdir -p "$work/models"
source "$source_dir/scripts/node_packages.sh"
install_node_llama_cpp "$work/node"
cp "$source_dir/bench/llama_cpp_speed.mjs" "$work/node/"

results="$work/results.jsonl"
: > "$results"
# One round of either side on $file, appended to $rounds_file as {"hearth": ...} / {"llama": ...}.
run_hearth() {
  local json
  json="$("$hearth" bench -m "$file" -t "$threads" -p "$n_prompt" -n "$n_gen" -r "$reps" --json 2>/dev/null |
    python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)))')"
  echo "{\"hearth\": $json}" >>"$rounds_file"
}
run_llama_cpp() {
  local json
  json="$(cd "$work/node" && node llama_cpp_speed.mjs "$file" "$threads" "$n_prompt" "$n_gen" "$reps")"
  echo "{\"llama\": $json}" >>"$rounds_file"
}
for spec in $models; do
  IFS=: read -r arch preset type layers <<<"$spec"
  layer_flags=()
  name="$preset"
  if [ -n "$layers" ]; then
    layer_flags=(--layers "$layers")
    name="$preset-${layers}l"
  fi
  vocab="$source_dir/data/vocab/qwen3/tokenizer.json"
  # Llama presets get Llama 3's vocabulary (its output head size) when testdata has it.
  llama3_vocab="${HEARTH_TESTDATA:-$source_dir/../shared/testdata}/tokenizers/llama3_1/tokenizer.json"
  [ "$arch" = llama ] && [ -f "$llama3_vocab" ] && vocab="$llama3_vocab"
  file="$work/models/$name-$type.gguf"
  if [ ! -f "$file" ]; then
    case "$type" in
      q4_k_m|q5_k_m|q6_k)  # K-quant mixes come from an f16 file through `hearth quantize`
        f16="$work/models/$name-f16.gguf"
        [ -f "$f16" ] || "$hearth" synth --arch "$arch" --preset "$preset" "${layer_flags[@]}" --type f16 --vocab "$vocab" -o "$f16" >/dev/null
        "$hearth" quantize "$f16" "$file" "$type" >/dev/null ;;
      *) "$hearth" synth --arch "$arch" --preset "$preset" "${layer_flags[@]}" --type "$type" --vocab "$vocab" -o "$file" >/dev/null ;;
    esac
  fi
  echo "== $name $type" >&2
  # Rounds alternate which side runs first, so that the VM's slow and fast phases fall on both.
  rounds_file="$work/rounds.jsonl"
  : > "$rounds_file"
  for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then run_hearth; run_llama_cpp; else run_llama_cpp; run_hearth; fi
  done
  python3 - "$name" "$type" "$rounds_file" >>"$results" <<'PY'
import json, statistics, sys
preset, type_, rounds = sys.argv[1], sys.argv[2], [json.loads(l) for l in open(sys.argv[3])]
hearth = [r["hearth"] for r in rounds if "hearth" in r]
llama = [r["llama"] for r in rounds if "llama" in r]
last = hearth[-1]
row = {"model": preset, "type": type_, "threads": last["threads"],
       "ceiling": statistics.median(h["decode_ceiling_tokens_per_s"] for h in hearth),
       "bandwidth": statistics.median(h["read_bandwidth_bytes_per_s"] for h in hearth),
       "weights_ceiling": statistics.median(h["decode_ceiling_from_weights_read_tokens_per_s"] for h in hearth),
       "weights_bandwidth": statistics.median(h["weights_read_bandwidth_bytes_per_s"] for h in hearth),
       "large_pages": last["file_resident_bytes_in_large_pages"] / max(last["file_resident_bytes"], 1),
       "besides": last["resident_bytes"] - last["file_resident_bytes"] - last["kv_cache_resident_bytes"]}
for k in ("pp", "tg"):
    samples = [s for h in hearth for r in h["results"] if r["test"].startswith(k) for s in r["samples"]]
    if samples:
        row["hearth_" + k] = statistics.median(samples)
    samples = [s for l in llama for s in l.get(k, [])]
    if samples:
        row["llama_" + k] = statistics.median(samples)
print(json.dumps(row))
PY
done

python3 - "$results" "$n_prompt" "$n_gen" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
pp, tg = sys.argv[2], sys.argv[3]
print(f"| model | type | threads | hearth pp{pp} | llama.cpp pp{pp} | ratio | hearth tg{tg} | llama.cpp tg{tg} | ratio | read GB/s | ceiling | hearth / ceiling | weights' read GB/s | hearth / their ceiling | 2 MiB pages | MiB besides file + KV |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    f = lambda k: r.get(k, float("nan"))
    print(f"| {r['model']} | {r['type']} | {r['threads']} | {f('hearth_pp'):.1f} | {f('llama_pp'):.1f} | "
          f"{f('hearth_pp') / f('llama_pp'):.2f} | {f('hearth_tg'):.1f} | {f('llama_tg'):.1f} | "
          f"{f('hearth_tg') / f('llama_tg'):.2f} | {r['bandwidth'] / 1e9:.1f} | {r['ceiling']:.1f} | "
          f"{f('hearth_tg') / r['ceiling']:.2f} | {r['weights_bandwidth'] / 1e9:.1f} | "
          f"{f('hearth_tg') / r['weights_ceiling']:.2f} | {r['large_pages']:.0%} | {r['besides'] / 2**20:.1f} |")
print("\nread GB/s: hearth bench's median read bandwidth over passes taken around its runs of that row")
print("weights' read GB/s: the same passes' plain read of the weights a token reads whole, in the model's own pages")
print("2 MiB pages: the share of the model file's pages in memory that hearth had mapped in 2 MiB pages")
print("MiB besides file + KV: hearth's resident memory after its runs less the file's and the KV cache's pages in memory")
PY
