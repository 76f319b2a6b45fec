#!/usr/bin/env bash
# Serving throughput: starts `hearth serve` on a `hearth synth --preset qwen3-0.6b` model and
# drives it with bench/serve_load.mjs at several concurrency levels (each client streams REQUESTS
# completions of MAX_TOKENS tokens); prints one JSON line per level and a Markdown table of aggregate and per-stream tokens/s,
# time to first token, and the gain over one stream. Usage: serve.sh [BUILD_DIR] (a Release build).
# Env: THREADS (2), TYPE (q8_0), LEVELS ("1 4 8 16"), MAX_TOKENS (64), REQUESTS (2),
# WORK (BUILD_DIR/serve-bench).
set -euo pipefail

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$source_dir/build/release}" && pwd)"
hearth="$build/src/hearth/cli/hearth"
threads="${THREADS:-2}"
type="${TYPE:-q8_0}"
levels="${LEVELS:-1 4 8 16}"
max_tokens="${MAX_TOKENS:-64}"
requests="${REQUESTS:-2}"
work="${WORK:-$build/serve-bench}"

[ -x "$hearth" ] || { echo "missing $hearth: build the hearth target" >&2; exit 1; }
command -v node >/dev/null || { echo "needs node (Node.js 20 or newer)" >&2; exit 1; }
mkdir -p "$work"
model="$work/qwen3-0.6b-$type.gguf"
[ -f "$model" ] || "$hearth" synth --arch qwen3 --preset qwen3-0.6b --type "$type" \
  --vocab "$source_dir/data/vocab/qwen3/tokenizer.json" -o "$model" >/dev/null

max_level=0
for level in $levels; do [ "$level" -gt "$max_level" ] && max_level="$level"; done
log="$work/serve.log"
"$hearth" serve -m "$model" --port 0 --parallel "$max_level" -c 512 -t "$threads" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 600); do
  port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -1)"
  if [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" | grep -q '"ready"'; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "hearth serve exited" >&2; exit 1; }
  sleep 0.1
done

# One untimed request first: page the weights in, so the first level is not charged for it.
node "$source_dir/bench/serve_load.mjs" "http://127.0.0.1:$port" 8 1 1 >/dev/null
# shellcheck disable=SC2086  # the levels are separate arguments
node "$source_dir/bench/serve_load.mjs" "http://127.0.0.1:$port" "$max_tokens" "$requests" $levels
echo "model: $model ($type), $threads threads, $max_tokens tokens per request, --parallel $max_level" >&2
