#!/usr/bin/env bash
# Installs what Rehearse needs on a Debian machine that has Rust, Python and Node, and nothing else.
#   scripts/setup.sh          what serving needs
#   scripts/setup.sh --check  also what the checks need (Chromium for the browser tests, clippy, rustfmt)
# Idempotent: it installs only what is missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"

want_check=0
[ "${1:-}" = "--check" ] && want_check=1

# Debian packages. The C and C++ toolchains build SQLite (bundled by rusqlite), whisper.cpp and espeak-ng; cmake and
# libclang (bindgen) drive the last two; libsonic is linked into espeak-ng; libssl-dev satisfies ort's build script.
pkgs=(gcc g++ make cmake pkg-config libclang-dev libsonic-dev libssl-dev)
if [ "$want_check" = 1 ]; then
  # Chromium for the browser tests; espeak-ng and sox speak and measure the clips the speech tests listen to.
  pkgs+=(chromium fonts-dejavu-core fonts-liberation curl espeak-ng sox)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for tool in cargo node npm python3; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required but not installed" >&2; exit 1; }
done

if [ "$want_check" = 1 ]; then
  for component in clippy rustfmt; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
      say "adding the $component component"
      rustup component add "$component"
    fi
  done
fi

# The Monaco editor, compiled into the binary, and Playwright's library for the browser tests (the browser is
# Debian's Chromium: playwright cannot download one here).
if [ ! -d node_modules/monaco-editor ] || [ ! -d node_modules/playwright-core ] ||
  [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
