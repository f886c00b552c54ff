#!/usr/bin/env bash
# llama.cpp's OpenAI-compatible server (the PyPI package llama-cpp-python, built from source) in a virtual environment
# shared by every clone, for the tests of the remote backends and for anyone who wants a local model server:
#   scripts/llama-server.sh install              build and install it when missing (about 6 minutes on 2 cores)
#   scripts/llama-server.sh serve FILE.gguf PORT  serve FILE on 127.0.0.1:PORT (/v1/chat/completions)
# The build leaves out llama.cpp's AMX paths: a native build crashed on these machines' Xeons (see SOURCES.md).
set -euo pipefail
VERSION=0.3.36
VENV="${REHEARSE_LLAMA_VENV:-$HOME/.cache/rehearse/llama-cpp-$VERSION}"

install() {
  if "$VENV/bin/python" -c 'import llama_cpp.server, uvicorn, sse_starlette' 2>/dev/null; then
    return 0
  fi
  echo "installing llama-cpp-python $VERSION into $VENV (builds llama.cpp: several minutes)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF" \
    "$VENV/bin/pip" install -q "llama-cpp-python[server]==$VERSION"
}

case "${1:-}" in
  install) install ;;
  serve)
    [ $# -eq 3 ] || { echo "usage: $0 serve FILE.gguf PORT" >&2; exit 2; }
    install
    exec "$VENV/bin/python" -m llama_cpp.server --model "$2" --host 127.0.0.1 --port "$3" --n_ctx 4096 \
      --n_threads 2
    ;;
  *) echo "usage: $0 install | serve FILE.gguf PORT" >&2; exit 2 ;;
esac
