"""Regenerate the Python code of the contract: ``python scripts/generate.py``.

Writes ``*_pb2.py``, ``*_pb2_grpc.py`` and their mypy-protobuf ``.pyi`` stubs
under ``clients/python/rtcconsole/v1/``. The toolchain is pinned: generated code
made by another grpcio-tools or mypy-protobuf would differ, and newer gencode
refuses to import on an older protobuf runtime, so this script refuses to run
with any other version. ``--check`` regenerates into a temporary directory and
exits 1 if the committed files differ (CI runs it).
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.metadata
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_ROOT = ROOT / "clients" / "python"
GENERATED_DIR = Path("rtcconsole") / "v1"
PINNED = {"grpcio-tools": "1.85.1", "mypy-protobuf": "5.1.0"}


def _check_toolchain() -> None:
    for dist, wanted in PINNED.items():
        found = importlib.metadata.version(dist)
        if found != wanted:
            sys.exit(f"generate: {dist} {found} installed, {wanted} required")


def _generate(out_root: Path) -> None:
    from grpc_tools import protoc  # imported late: only the generator needs it

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / GENERATED_DIR).glob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    bin_dir = Path(sys.executable).parent
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--mypy_out=quiet:{out_root}",
        f"--mypy_grpc_out=quiet:{out_root}",
        *protos,
    ]
    if protoc.main(args) != 0:
        sys.exit("generate: protoc failed")
    (out_root / GENERATED_DIR / "__init__.py").write_text(
        '"""Generated from protos/rtcconsole/v1 by scripts/generate.py; do not edit."""\n'
    )


def _differences(a: Path, b: Path) -> list[str]:
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()} - {"__pycache__"})
    return [
        n
        for n in names
        if n != "__pycache__"
        and not ((a / n).is_file() and (b / n).is_file() and filecmp.cmp(a / n, b / n, shallow=False))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed code is stale")
    args = parser.parse_args()
    _check_toolchain()
    if not args.check:
        target = OUT_ROOT / GENERATED_DIR
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        _generate(OUT_ROOT)
        return
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / GENERATED_DIR
        fresh.mkdir(parents=True)
        _generate(Path(tmp))
        stale = _differences(OUT_ROOT / GENERATED_DIR, fresh)
    if stale:
        sys.exit(
            "generate --check: stale generated code, run `python scripts/generate.py`: " + ", ".join(stale)
        )
    print("generated code is up to date")


if __name__ == "__main__":
    main()
