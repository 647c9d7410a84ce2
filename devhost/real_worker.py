"""The real Azure Functions Python worker, made runnable here: its source + generated gRPC stubs.

The worker's source tree (`../shared/tools/azure-functions-python-worker`) does not hold its generated
`*_pb2*.py` (they are git-ignored upstream). The `azure-functions-runtime-v1` wheel ships the same
FunctionRpc stubs under `tests/protos/`, so the build copies the source into a git-ignored folder and drops
the stubs into `azure_functions_worker/protos/`. Nothing of the worker is committed to this repository.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKER_SOURCE = Path(os.environ.get("WORKER_SOURCE", ROOT.parent / "shared/tools/azure-functions-python-worker"))
BUILD_DIR = Path(os.environ.get("DEVHOST_WORKER_DIR", ROOT / ".conformance/worker"))
# The wheel whose tests/protos hold the FunctionRpc stubs (pure Python, protobuf 4.25 compatible).
STUBS_WHEEL = "azure-functions-runtime-v1==1.2.0"
HOW_TO_RUN = (
    "the real Azure Functions Python worker is not available: put its source at "
    f"{WORKER_SOURCE} (or set WORKER_SOURCE) and run `make conformance`"
)


def built_worker(build_dir: Path = BUILD_DIR) -> Path | None:
    """The build folder when it holds a runnable worker (source + stubs), else None."""
    stubs = build_dir / "azure_functions_worker/protos/FunctionRpc_pb2.py"
    return build_dir if stubs.is_file() and (build_dir / "worker.py").is_file() else None


def build_worker(source: Path = WORKER_SOURCE, build_dir: Path = BUILD_DIR) -> Path | None:
    """Copy the worker source and add the stubs (downloaded once); None when the source is absent."""
    if built_worker(build_dir):
        return build_dir
    if not (source / "worker.py").is_file():
        return None
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=build_dir.parent, prefix=".worker-"))
    try:
        tree = staging / "worker"
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns(".git", "__pycache__", "tests"))
        for path in [tree, *tree.rglob("*")]:  # the shared copy is read-only
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        _add_stubs(tree / "azure_functions_worker/protos", staging)
        if build_dir.exists():
            shutil.rmtree(build_dir)
        tree.rename(build_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return build_dir


def _add_stubs(protos: Path, scratch: Path) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, the project's own interpreter
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "--python-version",
            "3.13",
            "--only-binary=:all:",
            "-d",
            str(scratch),
            STUBS_WHEEL,
        ],
        check=True,
    )
    wheel = next(scratch.glob("azure_functions_runtime_v1-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.startswith("tests/protos/") and member.endswith(("_pb2.py", "_pb2_grpc.py")):
                target = protos / member.removeprefix("tests/protos/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))


if __name__ == "__main__":
    built = build_worker()
    print(built if built else HOW_TO_RUN)
