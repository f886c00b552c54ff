#!/usr/bin/env bash
# Sets up what is missing, then runs every check: formatting, clippy, unit and integration tests, and the browser
# tests against a real server. Keeps going after a failure and lists every failure at the end.
set -uo pipefail
source "$(dirname "$0")/env.sh"
scripts/setup.sh --check || { echo "setup failed"; exit 1; }
# The sandbox's runtimes, shared by every clone (the tests read them from here).
export REHEARSE_RUNTIMES_DIR="${REHEARSE_RUNTIMES_DIR:-$HOME/.cache/rehearse/runtimes}"
python3 scripts/fetch-runtimes.py "$REHEARSE_RUNTIMES_DIR" || { echo "fetching the sandbox runtimes failed"; exit 1; }
# The tiny model set, shared by every clone: the model tests run the real models (tests/util.rs looks here).
models_dir="${REHEARSE_MODELS_DIR:-$HOME/.cache/rehearse/models}"
say "building, then installing the tiny model set"
cargo build --locked || { echo "build failed"; exit 1; }
"$CARGO_TARGET_DIR/debug/rehearse" --models-dir "$models_dir" models fetch --set tiny ||
  { echo "fetching the tiny model set failed"; exit 1; }
# llama.cpp's OpenAI-compatible server, which the remote backends' tests start (built once, shared by every clone).
scripts/llama-server.sh install || { echo "installing llama.cpp's server failed"; exit 1; }

passed=0
failed=()
step() {
  local name="$1"; shift
  say "$name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "--- $name: ok ($((SECONDS - t0)) s)"
  else
    failed+=("$name"); echo "--- $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

# The kernels are a crate of their own (optimised even in debug builds), so clippy and its tests run on it apart.
kernel_checks() {
  cargo clippy --locked --all-targets --manifest-path crates/kernels/Cargo.toml -- -D warnings &&
    cargo test --locked --manifest-path crates/kernels/Cargo.toml
}

browser_tests() {
  local data port pid status
  data="$(mktemp -d)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # The scripted interviewer keeps the assertions deterministic; the tiny set's voice and ears serve pages that
  # ask for them.
  "$CARGO_TARGET_DIR/debug/rehearse" --data-dir "$data" --models-dir "$models_dir" --log warn --llm scripted \
    --stt local:whisper-tiny.en --tts local:piper-joe serve --addr "127.0.0.1:$port" &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  BASE_URL="http://127.0.0.1:$port" node tests/browser/run.mjs
  status=$?
  kill -TERM "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$data"
  return $status
}

step "format" cargo fmt --all -- --check
step "clippy" cargo clippy --locked --all-targets -- -D warnings
step "tests" cargo test --locked
step "kernel clippy and tests" kernel_checks
step "browser tests" browser_tests

echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "Failed: ${failed[*]}"
fi
echo "check: $passed passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ]
