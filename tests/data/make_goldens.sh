#!/usr/bin/env bash
# Regenerates the llama.cpp goldens in tests/data/goldens: writes each model with `hearth synth`
# (the test writes the same file again from the same flags), runs it through llama.cpp
# (node-llama-cpp 3.22.1's prebuilt CPU binary, installed from the npm registry into WORK_DIR)
# and stores the small summaries make_goldens.mjs writes. Needs Node.js >= 20 and npm.
# Usage: tests/data/make_goldens.sh HEARTH_BINARY [WORK_DIR] [MODEL_NAME...]
set -euo pipefail

hearth="$(realpath "$1")"
work="${2:-/tmp/hearth-goldens}"
shift $(( $# < 2 ? $# : 2 ))
here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
out="$here/goldens"
node_llama_cpp_version=3.22.1

# name arch preset type seed vocab (relative to the source dir). The test reads the same table
# from each golden's "model" object.
models=(
  "tiny-qwen3moe-f32 qwen3moe tiny f32 11 data/vocab/qwen3/tokenizer.json"
  "tiny-qwen3moe-f16 qwen3moe tiny f16 12 data/vocab/qwen3/tokenizer.json"
  "tiny-qwen3moe-q8_0 qwen3moe tiny q8_0 13 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-f32 gemma4 tiny f32 21 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-f16 gemma4 tiny f16 22 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-q8_0 gemma4 tiny q8_0 29 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-moe-f32 gemma4 tiny-moe f32 23 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-moe-f16 gemma4 tiny-moe f16 24 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-moe-q8_0 gemma4 tiny-moe q8_0 25 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-e2b-f32 gemma4 tiny-e2b f32 26 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-e2b-f16 gemma4 tiny-e2b f16 27 data/vocab/qwen3/tokenizer.json"
  "tiny-gemma4-e2b-q8_0 gemma4 tiny-e2b q8_0 28 data/vocab/qwen3/tokenizer.json"
  "tiny-qwen35-f32 qwen35 tiny f32 31 data/vocab/qwen3/tokenizer.json"
  "tiny-qwen35-f16 qwen35 tiny f16 32 data/vocab/qwen3/tokenizer.json"
  "tiny-qwen35-q8_0 qwen35 tiny q8_0 33 data/vocab/qwen3/tokenizer.json"
  "tiny-qwen35moe-f32 qwen35moe tiny f32 41 data/vocab/qwen3/tokenizer.json"
  "tiny-qwen35moe-f16 qwen35moe tiny f16 42 data/vocab/qwen3/tokenizer.json"
  "tiny-qwen35moe-q8_0 qwen35moe tiny q8_0 43 data/vocab/qwen3/tokenizer.json"
)

mkdir -p "$work/node" "$work/models" "$out"
installed="$(node -p "try { require('$work/node/node_modules/node-llama-cpp/package.json').version } catch { '' }")"
if [ "$installed" != "$node_llama_cpp_version" ]; then
  echo '{"private": true}' > "$work/node/package.json"
  (cd "$work/node" && npm install --ignore-scripts --omit=optional --no-audit --no-fund \
      --loglevel=error "node-llama-cpp@$node_llama_cpp_version" \
      "@node-llama-cpp/linux-x64@$node_llama_cpp_version")
fi

specs=()
for line in "${models[@]}"; do
  read -r name arch preset type seed vocab <<< "$line"
  if [ $# -gt 0 ] && [[ ! " $* " =~ " $name " ]]; then continue; fi
  file="$work/models/$name.gguf"
  "$hearth" synth --arch "$arch" --preset "$preset" --type "$type" --seed "$seed" \
    --vocab "$source_dir/$vocab" -o "$file" > /dev/null
  specs+=("{\"name\": \"$name\", \"path\": \"$file\", \"synth\": {\"arch\": \"$arch\", \
\"preset\": \"$preset\", \"type\": \"$type\", \"seed\": $seed, \"vocab\": \"$vocab\"}}")
done

# ES modules resolve packages from the script's own folder: run a copy beside node_modules.
cp "$here/make_goldens.mjs" "$work/node/"
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node "$work/node/make_goldens.mjs" "$out" "${specs[@]}"
