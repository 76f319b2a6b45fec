#!/usr/bin/env bash
# One-step set-up on Debian 12: installs the Debian packages hearth needs (docs/ARCHITECTURE.md
# lists them), builds the Release binary in build/release, writes a small Qwen3-shaped demo
# model into the user's cache directory and runs the main job on it (inspect, run, bench).
#   scripts/setup.sh              install + build + demo
#   scripts/setup.sh --deps-only  install only what is missing (used by scripts/test.sh)
# Idempotent: packages already present are not reinstalled, builds are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config git
  libhwy-dev nlohmann-json3-dev libcpp-httplib-dev libcurl4-openssl-dev libcli11-dev
  libfmt-dev libspdlog-dev libpcre2-dev libutf8proc-dev libsqlite3-dev bubblewrap
  libtomlplusplus-dev python3-pytest
  libgtest-dev libgmock-dev libbenchmark-dev
)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

install_packages() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  # Node.js and npm only serve the tests that compare with llama.cpp (node-llama-cpp).
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  if [ ${#missing[@]} -eq 0 ]; then
    say "All Debian packages are installed"
    return
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install ${missing[*]} by hand"
    sudo=(sudo)
  fi
  say "Installing: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq || die "apt-get update failed (no network to Debian mirrors?)"
  for package in "${missing[@]}"; do
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      "$package" >/dev/null || die "could not install the Debian package '$package'"
  done
}

build_release() {
  say "Configuring and building build/release"
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHEARTH_BUILD_TESTS=OFF \
    >/dev/null
  cmake --build build/release
}

run_demo() {
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/hearth/models"
  local model="$cache/demo-qwen3-tiny-q8_0.gguf"
  mkdir -p "$cache"
  if [ ! -f "$model" ]; then
    say "Writing the demo model $model"
    build/release/src/hearth/cli/hearth synth --arch qwen3 --preset tiny --type q8_0 \
      --vocab data/vocab/qwen3/tokenizer.json --seed 1 -o "$model"
  fi
  local hearth=build/release/src/hearth/cli/hearth
  say "hearth inspect $model"
  "$hearth" inspect "$model" | tail -n 4
  # Random weights: the text is noise, but every token went through the real forward pass.
  say "hearth run -m $model -p 'Once upon a time' -n 32"
  "$hearth" run -m "$model" -p "Once upon a time" -n 32 --seed 1 --ignore-eos
  say "hearth bench -m $model"
  "$hearth" bench -m "$model" -p 128 -n 32 -r 3
}

install_packages
if [ "${1:-}" = "--deps-only" ]; then exit 0; fi
build_release
run_demo
