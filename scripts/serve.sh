#!/usr/bin/env bash
# Sets up a fresh Debian machine, builds Rehearse (release) and serves it on http://127.0.0.1:8080.
# Extra arguments go to `rehearse serve`, e.g. `scripts/serve.sh --addr 0.0.0.0:8080` for a LAN.
# Data (the SQLite database) lives in ./data unless REHEARSE_DATA_DIR says otherwise.
set -euo pipefail
source "$(dirname "$0")/env.sh"
scripts/setup.sh
say "installing the sandbox runtimes"
python3 scripts/fetch-runtimes.py "${REHEARSE_RUNTIMES_DIR:-${REHEARSE_DATA_DIR:-data}/runtimes}"
say "building Rehearse (release; the first build takes several minutes)"
cargo build --release --locked
say "installing the default local models (about 730 MB, verified by sha256; skipped when already there)"
"$CARGO_TARGET_DIR/release/rehearse" models fetch --set default
say "serving"
exec "$CARGO_TARGET_DIR/release/rehearse" serve "$@"
