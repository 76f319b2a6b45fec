# Sourced by the scripts that drive Node.js peers (the e2e tests against llama.cpp and the openai
# client, the speed comparisons, the golden generator): the pinned versions of the npm packages
# they use, and one installer that puts them into a folder of their own, once, so later runs reuse
# them, and the tests' way out when Node.js or the network is missing. npm is for test clients and
# reference peers only; the product never loads these.

# skip MESSAGE: ends an end-to-end test as skipped (exit 77, CTest's SKIP_RETURN_CODE), or as
# failed under CI=true, where every test must run.
skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL (CI=true forbids skipping): $*" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}

NODE_LLAMA_CPP_VERSION=3.22.1
OPENAI_VERSION=4.104.0

# install_node_package DIR PACKAGE VERSION [EXTRA_SPEC...]: makes DIR/node_modules/PACKAGE be
# VERSION (installing it with the extra specs beside it when it is not); returns npm's failure.
install_node_package() {
  local dir="$1" package="$2" version="$3"
  shift 3
  mkdir -p "$dir"
  local installed
  installed="$(node -p "try { require('$dir/node_modules/$package/package.json').version } catch { '' }")"
  [ "$installed" = "$version" ] && return 0
  echo "installing $package@$version into $dir" >&2
  [ -f "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$package@$version" "$@")
}

# install_node_llama_cpp DIR: node-llama-cpp with only its prebuilt linux-x64 CPU binaries;
# --ignore-scripts because its postinstall would try to download or build llama.cpp when no
# prebuilt binary fits.
install_node_llama_cpp() {
  install_node_package "$1" node-llama-cpp "$NODE_LLAMA_CPP_VERSION" \
    "@node-llama-cpp/linux-x64@$NODE_LLAMA_CPP_VERSION" --ignore-scripts --omit=optional
}
