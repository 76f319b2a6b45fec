#!/usr/bin/env bash
# End-to-end: `hearth serve` on the tiny Qwen3 model, driven by the official `openai` npm client
# (openai_client.mjs, installed under the build folder), then SIGTERM ends it cleanly. Server
# memory must stay flat over the concurrent rounds. Usage: openai_client_test.sh HEARTH_BINARY
# SOURCE_DIR WORK_DIR. Exit 77 (CTest: skipped) without Node.js/npm or testdata, but not under CI=true.
set -euo pipefail

hearth="$1"
source_dir="$2"
work="$3"
testdata="${HEARTH_TESTDATA:-${HEARTH_TESTDATA_DEFAULT:-$source_dir/../shared/testdata}}"
source "$source_dir/scripts/node_packages.sh"

command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed"
model="$testdata/models/tiny-qwen3-f16.gguf"
[ -f "$model" ] || skip "testdata not found at $testdata (set HEARTH_TESTDATA)"

install_node_package "$work/node" openai "$OPENAI_VERSION" ||
  skip "npm install openai@$OPENAI_VERSION failed (offline?)"

log="$work/serve.log"
# A small ASan quarantine (ignored by other builds) so freed memory shows in RSS as it would.
ASAN_OPTIONS="quarantine_size_mb=16:${ASAN_OPTIONS:-}" \
  "$hearth" serve -m "$model" --port 0 --parallel 4 -c 512 -t 2 --api-key sesame --alias tiny \
  >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT

port=""
for _ in $(seq 1 600); do
  port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -1)"
  if [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$log"; echo "FAIL: hearth serve exited" >&2; exit 1; }
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/health" | grep -q '"ready"' || { cat "$log"; exit 1; }

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
cp "$source_dir/tests/e2e/openai_client.mjs" "$work/node/"
node "$work/node/openai_client.mjs" "http://127.0.0.1:$port/v1" sesame
rss_before="$(rss)"
node "$work/node/openai_client.mjs" "http://127.0.0.1:$port/v1" sesame >/dev/null
rss_after="$(rss)"
echo "server RSS: ${rss_before} kB after the first run, ${rss_after} kB after the second"
if [ "$rss_after" -gt $((rss_before + 32768)) ]; then
  echo "FAIL: server memory grew by more than 32 MB over a repeated run" >&2
  exit 1
fi

metrics="$(curl -sf "http://127.0.0.1:$port/metrics")"
grep -q '^hearth_generated_tokens_total [1-9]' <<<"$metrics" || { echo "FAIL: metrics" >&2; exit 1; }

kill -TERM "$server"
status=0
wait "$server" || status=$?
trap - EXIT
if [ "$status" -ne 0 ]; then
  cat "$log"
  echo "FAIL: hearth serve exited with $status after SIGTERM" >&2
  exit 1
fi
echo "ok: SIGTERM ends hearth serve with status 0"
