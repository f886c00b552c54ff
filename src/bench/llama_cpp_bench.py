# Runs a prompt through llama.cpp (PyPI `llama-cpp-python`) the way `rehearse bench models` runs it through candle,
# and prints JSON: prompt tokens, prefill and decode speed, first-token time (medians of three runs). Used only by
# the benchmark, when llama_cpp is importable. Usage: python3 llama_cpp_bench.py MODEL.gguf PROMPT_FILE DECODE_TOKENS THREADS
import json
import statistics
import sys
import time

from llama_cpp import Llama

model, prompt_path, n_out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=model, n_ctx=4096, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False)
prompt = open(prompt_path, encoding="utf-8").read()
tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

# Warm-up, as the Rust side does.
llm.eval(tokens[:4])
llm.reset()

# Three runs, each from an empty cache, and the medians, as the Rust side reports.
runs = []
for _ in range(3):
    llm.reset()
    started = time.perf_counter()
    llm.eval(tokens)
    prefilled = time.perf_counter()
    token = llm.sample(temp=0.0)
    first = time.perf_counter()
    for _ in range(n_out - 1):
        llm.eval([token])
        token = llm.sample(temp=0.0)
    done = time.perf_counter()
    runs.append({
        "prefill_tokens_per_second": len(tokens) / (prefilled - started),
        "first_token_ms": (first - started) * 1000.0,
        "decode_tokens_per_second": (n_out - 1) / (done - first),
    })
median = lambda key: statistics.median(run[key] for run in runs)
print(json.dumps({
    "prompt_tokens": len(tokens),
    "prefill_tokens_per_second": median("prefill_tokens_per_second"),
    "first_token_ms": median("first_token_ms"),
    "decode_tokens_per_second": median("decode_tokens_per_second"),
}))
