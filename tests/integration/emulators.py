"""Start and stop the npm emulators (Azurite, @vercel/cosmosdb-server) on free local ports."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from devhost.testing import free_port

REPO = Path(__file__).resolve().parents[2]
NODE_BIN = REPO / "node_modules" / ".bin"
SELF_SIGNED_CERT = REPO / "node_modules" / "@vercel" / "cosmosdb-server" / "cert.pem"
SELF_SIGNED_KEY = REPO / "node_modules" / "@vercel" / "cosmosdb-server" / "key.pem"
COSMOS_LAUNCHER = Path(__file__).resolve().parent / "cosmos_server.js"

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# cosmosdb-server accepts any key; the SDK only needs valid base64 to sign with. This is the public
# key of Microsoft's Cosmos emulator.
COSMOS_EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="

START_TIMEOUT_SECONDS = 60.0


class EmulatorUnavailable(RuntimeError):
    """The emulators are not installed (run `npm ci`) or node is missing."""


def missing_reason() -> str | None:
    """Why the emulators cannot start here, or None when they can."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    for tool in ("azurite", "cosmosdb-server"):
        if not (NODE_BIN / tool).exists():
            return f"{NODE_BIN / tool} is missing: run `npm ci` (or `make setup`)"
    return None


@dataclass
class Emulator:
    """One started emulator process (its own process group, so its children stop with it)."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@dataclass
class Azurite(Emulator):
    https: bool = False

    @property
    def blob_endpoint(self) -> str:
        scheme = "https" if self.https else "http"
        return f"{scheme}://127.0.0.1:{self.ports['blob']}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )


@dataclass
class CosmosServer(Emulator):
    key: str = COSMOS_EMULATOR_KEY

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.ports['https']}/"


def _wait_for_port(emulator: Emulator, port: int) -> None:
    atexit.register(emulator.stop)  # also stopped when a session ends without running its finalizers
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if emulator.process.poll() is not None:
            raise RuntimeError(f"{emulator.name} exited with {emulator.process.returncode}:\n{emulator.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    emulator.stop()
    raise RuntimeError(
        f"{emulator.name} did not listen on {port} within {START_TIMEOUT_SECONDS}s:\n{emulator.log_tail()}"
    )


def _spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    reason = missing_reason()
    if reason:
        raise EmulatorUnavailable(reason)
    log = log_path.open("wb")
    try:
        return subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO, start_new_session=True
        )
    finally:
        log.close()  # the child holds its own descriptor


def start_azurite(workdir: Path, *, oauth: bool = False) -> Azurite:
    """Azurite blob service only (the tests need no queues or tables), data kept under `workdir`.

    oauth=True: HTTPS (the self-signed certificate shipped with cosmosdb-server) and `--oauth basic`, which
    accepts bearer tokens without checking their signature and serves user-delegation keys.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [
        str(NODE_BIN / "azurite-blob"),
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--loose",
        "--location",
        str(workdir),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
    ]
    if oauth:
        args += ["--oauth", "basic", "--cert", str(SELF_SIGNED_CERT), "--key", str(SELF_SIGNED_KEY)]
    log_path = workdir / "azurite.log"
    emulator = Azurite("azurite", _spawn(args, log_path), log_path, {"blob": port}, https=oauth)
    _wait_for_port(emulator, port)
    return emulator


def start_cosmos(workdir: Path) -> CosmosServer:
    """@vercel/cosmosdb-server over HTTPS (self-signed certificate), in memory, through our launcher."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = ["node", str(COSMOS_LAUNCHER), str(port)]
    log_path = workdir / "cosmosdb-server.log"
    emulator = CosmosServer("cosmosdb-server", _spawn(args, log_path), log_path, {"https": port})
    _wait_for_port(emulator, port)
    return emulator
