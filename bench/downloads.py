"""`python -m bench.downloads`: devhost's signed-link downloads (`/_files`) against the naive answer.

A server process runs the app's devhost routes (devhost_hooks) over an embedded file store holding one large
file (a year's bulk CSV is tens of MB); a client downloads it N times. The naive side is the same route
answering `web.Response(body=path.read_bytes())`, as it did before: the whole file read into memory and copied
into the response. Sides alternate in rounds. Per side: the server's CPU per download (getrusage) and its
peak RSS (VmHWM) against its RSS before any download. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from devhost.testing import free_port
from stores.files_embedded import EmbeddedFileStore

NAME = "all/2024/eco2mix_all_2024.csv"
KEY = b"k" * 32
SIDES = ("naive", "devhost")


def _store(root: Path) -> EmbeddedFileStore:
    # Signed links are checked on their path and query alone: the base URL plays no part here.
    return EmbeddedFileStore(root, KEY, "http://127.0.0.1")


def serve(side: str, root: Path, port: int) -> None:
    """The server process: devhost's download routes, plus /stats (CPU seconds, peak and current RSS)."""
    import devhost_hooks

    store = _store(root)
    setattr(devhost_hooks, "_embedded_files", lambda: store)  # noqa: B010 (what devhost's settings would give)
    setattr(devhost_hooks, "_allowed_origins", lambda: ())  # noqa: B010
    if side == "naive":  # the answer before: read whole, copied into the response

        def read_whole(path: Path, headers: dict[str, str]) -> web.Response:
            return web.Response(body=path.read_bytes(), headers=headers)

        setattr(devhost_hooks.web, "FileResponse", read_whole)  # noqa: B010 (this server process only)

    async def stats(request: web.Request) -> web.Response:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return web.json_response(
            {
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "peak_mib": int(status["VmHWM"].split()[0]) / 1024,
                "rss_mib": int(status["VmRSS"].split()[0]) / 1024,
            }
        )

    app = web.Application()
    app.add_routes(devhost_hooks.hooks.routes(lambda status, title, detail: web.json_response({}, status=status)))
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


async def _stats(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    for _ in range(200):
        try:
            async with session.get(f"{base}/stats") as response:
                figures: dict[str, float] = await response.json()
                return figures
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the download server did not start")


async def one_side(side: str, root: Path, downloads: int, size: int) -> dict[str, float]:
    """Start the server of `side` on a free port, download the file `downloads` times, and stop it."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.downloads", "--serve", side, str(root), str(port)]
    server = subprocess.Popen(argv)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            before = await _stats(session, base)
            link = urlsplit(_store(root).signed_url(NAME, 600, Path(NAME).name))
            for _ in range(downloads):
                received = 0
                async with session.get(f"{base}{link.path}?{link.query}") as response:
                    if response.status != 200:
                        raise RuntimeError(f"{side}: status {response.status}")
                    async for chunk in response.content.iter_chunked(1 << 20):
                        received += len(chunk)
                if received != size:
                    raise RuntimeError(f"{side}: {received} bytes of {size}")
            after = await _stats(session, base)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "cpu_ms_per_download": (after["cpu_s"] - before["cpu_s"]) / downloads * 1000,
        "peak_rss_mib": after["peak_mib"],
        "rss_before_mib": before["rss_mib"],
    }


async def measure(mib: int, downloads: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-downloads-") as tmp:
        root = Path(tmp)
        size = mib * 1024 * 1024
        _store(root).put(NAME, os.urandom(size), "text/csv")
        runs: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
        for k in range(rounds):
            for side in SIDES if k % 2 == 0 else SIDES[::-1]:
                runs[side].append(await one_side(side, root, downloads, size))
                print(f"  round {k + 1} {side:<8} {runs[side][-1]}", flush=True)
    return {
        side: {
            "cpu_ms_per_download": round(statistics.median(r["cpu_ms_per_download"] for r in rows), 1),
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in rows), 1),
            "rss_before_mib": round(max(r["rss_before_mib"] for r in rows), 1),
        }
        for side, rows in runs.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.downloads", description=__doc__)
    parser.add_argument("--mib", type=int, default=40, help="size of the file (default 40 MiB)")
    parser.add_argument("--downloads", type=int, default=10, help="downloads per side and round (default 10)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=3, metavar=("SIDE", "ROOT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        side, root, port = args.serve
        serve(side, Path(root), int(port))
        return 0
    figures = asyncio.run(measure(args.mib, args.downloads, args.rounds))
    print(f"{'side':<8} {'CPU ms/download':>15} {'peak RSS MiB':>12} {'RSS before MiB':>14}")
    for side, row in figures.items():
        print(f"{side:<8} {row['cpu_ms_per_download']:>15} {row['peak_rss_mib']:>12} {row['rss_before_mib']:>14}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
