"""Post-deploy smoke check through the public API: `python -m ops.smoke --url URL --key=KEY`.

Checks, in order: health, the OpenAPI document, the region catalog (to find a materialized day), one point
read, one range, one CSV download followed through its signed link. One line per check; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

TIMEOUT_SECONDS = 30.0
CSV_BOM = b"\xef\xbb\xbf"


class CheckFailed(Exception):
    """A check's expectation did not hold; the message says which."""


@dataclass
class Found:
    """What earlier checks learned and later ones use."""

    region_code: str | None = None
    day: str | None = None


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    elapsed_ms: float

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name:<10} {self.elapsed_ms:7.0f} ms  {self.detail}"


@dataclass
class Smoke:
    session: aiohttp.ClientSession
    base_url: str
    key: str
    found: Found = field(default_factory=Found)

    def _url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    async def _get(
        self, path: str, *, auth: bool = True, params: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"X-API-Key": self.key} if auth else {}
        async with self.session.get(self._url(path), headers=headers, params=params, allow_redirects=False) as resp:
            return resp.status, dict(resp.headers), await resp.read()

    async def _json(self, path: str, *, auth: bool = True, params: dict[str, str] | None = None) -> Any:
        status, headers, body = await self._get(path, auth=auth, params=params)
        if status != 200:
            raise CheckFailed(f"GET {path} answered {status}: {body[:200]!r}")
        if not headers.get("Content-Type", "").startswith("application/json"):
            raise CheckFailed(f"GET {path} is {headers.get('Content-Type')!r}, not JSON")
        return _loads(body)

    async def health(self) -> str:
        body = await self._json("/v1/health", auth=False)
        stores = body.get("stores", {})
        # A deployment serves when its stores do; a quarantined region-month (materialization degraded) is a
        # data matter the check names, not a failed deployment.
        materialization = ((body.get("checks") or {}).get("materialization") or {}).get("status")
        if body.get("status") != "ok" and (
            materialization != "degraded" or not stores or any(s.get("status") != "ok" for s in stores.values())
        ):
            raise CheckFailed(f"status {body.get('status')!r}: {stores}")
        names = "stores " + ", ".join(f"{n}={s.get('status')}" for n, s in sorted(stores.items()))
        return names + (f", materialization={materialization}" if materialization else "")

    async def openapi(self) -> str:
        body = await self._json("/v1/openapi.json", auth=False)
        if not str(body.get("openapi", "")).startswith("3.1") or "/v1/production/regional" not in body.get("paths", {}):
            raise CheckFailed("not the API's OpenAPI 3.1 document")
        return f"OpenAPI {body['openapi']}, {len(body['paths'])} paths"

    async def regions(self) -> str:
        body = await self._json("/v1/regions")
        with_days = [r for r in body.get("items", []) if r.get("last_day")]
        if not with_days:
            raise CheckFailed("no region has a materialized day yet")
        self.found = Found(with_days[0]["code"], with_days[0]["last_day"])
        return f"{len(with_days)} of {len(body.get('items', []))} regions materialized"

    def _day(self) -> tuple[str, str]:
        if self.found.region_code is None or self.found.day is None:
            raise CheckFailed("skipped: no materialized day found")
        return self.found.region_code, self.found.day

    async def point(self) -> str:
        code, day = self._day()
        doc = await self._json(f"/v1/production/regional/{code}/{day}")
        if doc.get("region_code") != code or doc.get("date") != day or not doc.get("intervals"):
            raise CheckFailed(f"unexpected document for {code}/{day}")
        return f"{code}/{day}: {len(doc['intervals'])} intervals"

    async def range(self) -> str:
        code, day = self._day()
        params = {"region_code": code, "start_date": day, "end_date": day, "granularity": "hour"}
        body = await self._json("/v1/production/regional", params=params)
        if not body.get("items") or body.get("total", 0) < len(body["items"]):
            raise CheckFailed(f"no items for {code} on {day}")
        return f"{code} {day}: {body['total']} hourly items"

    async def csv(self) -> str:
        code, day = self._day()
        status, headers, body = await self._get("/v1/export/csv", params={"region_code": code, "date": day})
        location = headers.get("Location")
        if status != 302 or not location:
            raise CheckFailed(f"export answered {status} (expected 302 with Location): {body[:200]!r}")
        # The signed link must work on its own: no API key is sent to the storage endpoint.
        async with self.session.get(location, allow_redirects=False) as resp:
            data = await resp.read()
            if resp.status != 200:
                raise CheckFailed(f"download answered {resp.status}")
        if not data.startswith(CSV_BOM):
            raise CheckFailed("the file does not start with the UTF-8 BOM")
        header, _, rest = data[len(CSV_BOM) :].decode("utf-8").partition("\n")
        if ";" not in header or not rest.strip():
            raise CheckFailed(f"not a ';' CSV with rows: {header[:80]!r}")
        return f"{len(data)} bytes, {len(rest.splitlines())} rows, header {header.count(';') + 1} columns"

    def checks(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        return [
            ("health", self.health),
            ("openapi", self.openapi),
            ("regions", self.regions),
            ("point", self.point),
            ("range", self.range),
            ("csv", self.csv),
        ]


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise CheckFailed(f"invalid JSON: {exc}") from None


async def run_checks(base_url: str, key: str, timeout: float = TIMEOUT_SECONDS) -> list[CheckResult]:
    results: list[CheckResult] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        smoke = Smoke(session, base_url, key)
        for name, check in smoke.checks():
            started = time.perf_counter()
            try:
                detail, ok = await check(), True
            except CheckFailed as exc:
                detail, ok = str(exc), False
            except (aiohttp.ClientError, TimeoutError) as exc:
                detail, ok = f"{type(exc).__name__}: {exc}", False
            results.append(CheckResult(name, ok, detail, (time.perf_counter() - started) * 1000))
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL of the deployment, e.g. https://<app>.azurewebsites.net")
    # A generated key begins with "-" one time in 64: `--key -abc` reads as an option, `--key=-abc` does not.
    parser.add_argument("--key", required=True, help="a reader API key (as --key=KEY when it begins with -)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS, help="seconds per request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(run_checks(args.url, args.key, args.timeout))
    for result in results:
        print(result.line(), flush=True)
    failed = [r.name for r in results if not r.ok]
    print(
        f"smoke: {len(results) - len(failed)}/{len(results)} passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
