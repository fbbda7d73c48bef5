"""Regenerate the code of the contract: ``python scripts/generate.py``.

Writes ``*_pb2.py``, ``*_pb2_grpc.py`` and their mypy-protobuf ``.pyi`` stubs
under ``clients/python/rtcconsole/v1/``. The toolchain is pinned: generated code
made by another grpcio-tools or mypy-protobuf would differ, and newer gencode
refuses to import on an older protobuf runtime, so this script refuses to run
with any other version. ``--check`` regenerates into a temporary directory and
exits 1 if the committed files differ (CI runs it).

It also writes the TypeScript of the Node client under ``clients/node/src/gen/``
with the project's ``buf`` and the ``protoc-gen-es`` that ``npm ci`` in
``clients/node`` installs (versions pinned by its ``package-lock.json``;
``clients/node/buf.gen.yaml``; decision 0032). ``--skip-node`` leaves it out,
for a machine without Node.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
OUT_ROOT = ROOT / "clients" / "python"
GENERATED_DIR = Path("rtcconsole") / "v1"
PINNED = {"grpcio-tools": "1.85.1", "mypy-protobuf": "5.1.0"}
NODE_ROOT = ROOT / "clients" / "node"
NODE_TEMPLATE = NODE_ROOT / "buf.gen.yaml"
NODE_GENERATED = Path("clients") / "node" / "src" / "gen"  # the template's `out`, from ROOT
NODE_NEEDS = ("node_modules/.bin/protoc-gen-es", "node_modules/google-proto-files/google/rpc/status.proto")


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


def _generate_ts(out_root: Path | None) -> None:
    """``buf generate`` with the Node template; into ``out_root``/clients/node/src/gen if given."""
    missing = [need for need in NODE_NEEDS if not (NODE_ROOT / need).exists()]
    if missing:
        sys.exit(
            f"generate: {NODE_ROOT.relative_to(ROOT)}/node_modules lacks {', '.join(missing)}: "
            "run `npm ci` in clients/node first (Node 20 and npm), or pass --skip-node"
        )
    if shutil.which("node") is None:
        sys.exit("generate: protoc-gen-es needs `node` on PATH (Node 20), or pass --skip-node")
    buf = Path(sys.executable).parent / "buf"
    args = [str(buf), "generate", "--template", str(NODE_TEMPLATE.relative_to(ROOT))]
    if out_root is not None:
        args += ["--output", str(out_root)]
    if subprocess.run(args, cwd=ROOT, check=False).returncode != 0:
        sys.exit("generate: buf generate (protoc-gen-es) failed")


def _tree_differences(a: Path, b: Path) -> list[str]:
    """Files, relative to the two roots, that are in one tree only or differ."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} if a.is_dir() else set()
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()} if b.is_dir() else set()
    return sorted(
        str(p)
        for p in files_a | files_b
        if p not in files_a or p not in files_b or not filecmp.cmp(a / p, b / p, shallow=False)
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
    parser.add_argument(
        "--skip-node", action="store_true", help="leave out the TypeScript of clients/node (no Node here)"
    )
    args = parser.parse_args()
    _check_toolchain()
    if not args.check:
        target = OUT_ROOT / GENERATED_DIR
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        _generate(OUT_ROOT)
        if not args.skip_node:
            _generate_ts(None)
        return
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / GENERATED_DIR
        fresh.mkdir(parents=True)
        _generate(Path(tmp))
        stale = _differences(OUT_ROOT / GENERATED_DIR, fresh)
        if not args.skip_node:
            _generate_ts(Path(tmp) / "ts")
            stale += [
                str(NODE_GENERATED / name)
                for name in _tree_differences(ROOT / NODE_GENERATED, Path(tmp) / "ts" / NODE_GENERATED)
            ]
    if stale:
        sys.exit(
            "generate --check: stale generated code, run `python scripts/generate.py`: " + ", ".join(stale)
        )
    print("generated code is up to date")


if __name__ == "__main__":
    main()
