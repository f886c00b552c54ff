#!/usr/bin/env python3
"""The outside test's slow-connection attack, against a release build: 300 slow-header, 50 silent and 50
half-request-line connections from 127.0.0.2, the server's file limit set to LIMIT, /healthz probed from 127.0.0.1.
Usage: scripts/slow-connections.py PORT LIMIT (build first: cargo build --release)."""
import socket, time, threading, subprocess, os, sys, tempfile, urllib.request
port = int(sys.argv[1]); limit = sys.argv[2]
binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/rehearse/target")), "release", "rehearse")
data = tempfile.mkdtemp()
srv = subprocess.Popen(["bash", "-c", f"ulimit -n {limit}; exec {binary} --data-dir {data} --llm scripted --stt off --tts off --vad off --log warn serve --addr 127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1); break
    except Exception: time.sleep(0.2)
def conn(src):
    s = socket.socket(); s.bind((src, 0)); s.settimeout(1); s.connect(("127.0.0.1", port)); return s
attack = []
t0 = time.time()
for i in range(300):
    try:
        s = conn("127.0.0.2"); s.send(b"GET / HTTP/1.1\r\nHost: x\r\n"); attack.append(("slow", s))
    except Exception as e: pass
for i in range(50):
    try: attack.append(("silent", conn("127.0.0.2")))
    except Exception: pass
for i in range(50):
    try:
        s = conn("127.0.0.2"); s.send(b"GE"); attack.append(("half", s))
    except Exception: pass
opened = len(attack)
# trickle more header bytes every 2 s on the slow ones, probe health every 0.5 s
worst = 0; fails = 0; probes = 0
closed_at = {}
def health():
    global worst, fails, probes
    while time.time() - t0 < 25:
        a = time.time()
        try:
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.settimeout(5); s.connect(("127.0.0.1", port))
            s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            r = s.recv(100); s.close()
            ok = r.startswith(b"HTTP/1.1 200")
        except Exception: ok = False
        probes += 1
        if not ok: fails += 1
        worst = max(worst, time.time() - a)
        time.sleep(0.5)
h = threading.Thread(target=health); h.start()
while time.time() - t0 < 25:
    for i, (kind, s) in enumerate(attack):
        if i in closed_at: continue
        try:
            s.settimeout(0.001)
            d = s.recv(100)
            if d == b"" or d.startswith(b"HTTP"):
                closed_at[i] = time.time() - t0
        except socket.timeout:
            if kind == "slow":
                try: s.send(b"X-a: b\r\n")
                except Exception: closed_at[i] = time.time() - t0
        except Exception:
            closed_at[i] = time.time() - t0
    time.sleep(1)
h.join()
still = opened - len(closed_at)
print(f"file limit {limit}: attack connections opened {opened} of 400; closed by the server {len(closed_at)}, last after {max(closed_at.values(), default=0):.1f} s; still open after 25 s: {still}")
print(f"/healthz from another address: {probes - fails} of {probes} answered, slowest {worst:.2f} s")
srv.terminate(); out = srv.communicate()[0].decode()
print("server log lines mentioning open files:", [l for l in out.splitlines() if "open files" in l][:3])
