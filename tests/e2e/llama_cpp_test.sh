#!/usr/bin/env bash
# End-to-end: llama.cpp (node-llama-cpp's prebuilt CPU binary) loads and runs `hearth synth`
# files of every architecture and `hearth quantize` outputs.
# Usage: llama_cpp_test.sh HEARTH_BINARY SOURCE_DIR WORK_DIR.
# Exit 77 (CTest: skipped) when Node.js/npm or the testdata is missing, except under CI=true.
set -euo pipefail

hearth="$1"
source_dir="$2"
work="$3"
testdata="${HEARTH_TESTDATA:-${HEARTH_TESTDATA_DEFAULT:-$source_dir/../shared/testdata}}"
source "$source_dir/scripts/node_packages.sh"

command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || skip "node-llama-cpp needs Node.js 20 or newer (found $(node --version))"
[ -d "$testdata/tokenizers" ] || skip "testdata not found at $testdata (set HEARTH_TESTDATA)"

install_node_llama_cpp "$work/node" ||
  skip "npm install node-llama-cpp@$NODE_LLAMA_CPP_VERSION failed (offline?)"

models="$work/models"
rm -rf "$models"
mkdir -p "$models"
synth() {  # ARCH TYPE VOCAB
  local out="$models/$1-$2.gguf"
  "$hearth" synth --arch "$1" --preset tiny --type "$2" --vocab "$3" --seed 7 -o "$out"
}
# Each architecture's vocabulary comes once from its source (tokenizer.json or GGUF); the other
# types copy it from the first file, which also exercises --vocab model.gguf.
synth llama f16 "$testdata/tokenizers/llama2_meta_gguf/ggml-vocab-llama-spm.gguf"
synth qwen3 f16 "$source_dir/data/vocab/qwen3/tokenizer.json"
synth qwen3moe f16 "$source_dir/data/vocab/qwen3/tokenizer.json"
synth gemma3 f16 "$testdata/tokenizers/gemma3/tokenizer.json"
synth gemma4 f16 "$testdata/tokenizers/gemma3/tokenizer.json"
synth qwen35 f16 "$source_dir/data/vocab/qwen3/tokenizer.json"
synth qwen35moe f16 "$source_dir/data/vocab/qwen3/tokenizer.json"
for arch in llama qwen3 qwen3moe gemma3 gemma4; do
  synth "$arch" q8_0 "$models/$arch-f16.gguf"
done
synth llama q4_0 "$models/llama-f16.gguf"
# `hearth quantize` mixes: a llama whose rows fit 256-element blocks (K-quants throughout) and
# the tiny qwen3, whose rows do not (llama.cpp's fallbacks to 32-element types).
"$hearth" synth --arch llama --dims 256,2,4,2,64,768 --vocab "$models/llama-f16.gguf" --seed 7 \
  -o "$models/llama-k256-f16.gguf"
quantized=()
for mix in q4_k_m q6_k; do
  for base in llama-k256 qwen3; do
    "$hearth" quantize "$models/$base-f16.gguf" "$models/$base-$mix.gguf" "$mix" --threads 2
    quantized+=("$models/$base-$mix.gguf")
  done
done

# ES modules resolve packages from the script's own folder: run a copy beside node_modules.
cp "$source_dir/tests/e2e/llama_cpp_generate.mjs" "$work/node/"
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node "$work/node/llama_cpp_generate.mjs" \
  "$models"/llama-f16.gguf "$models"/llama-q8_0.gguf "$models"/llama-q4_0.gguf \
  "$models"/qwen3-f16.gguf "$models"/qwen3-q8_0.gguf \
  "$models"/qwen3moe-f16.gguf "$models"/qwen3moe-q8_0.gguf \
  "$models"/gemma3-f16.gguf "$models"/gemma3-q8_0.gguf \
  "$models"/gemma4-f16.gguf "$models"/gemma4-q8_0.gguf \
  "$models"/qwen35-f16.gguf "$models"/qwen35moe-f16.gguf "${quantized[@]}"
