"""The committed generated code must be what `make protos` produces from the committed .proto files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    sources = sorted(p.relative_to(PROTOS) for p in PROTOS.rglob("*.proto"))
    assert sources, "no .proto files found"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            str(PROTOS),
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            *map(str, sources),
        ],
        check=True,
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(PROTOS)
        for p in PROTOS.rglob("*")
        if p.is_file() and p.name.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"))
    )
    assert generated == committed, "generated files differ from the committed set: run `make protos`"
    stale = [str(p) for p in generated if (tmp_path / p).read_bytes() != (PROTOS / p).read_bytes()]
    assert not stale, f"stale generated code, run `make protos`: {stale}"
