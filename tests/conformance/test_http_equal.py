"""A table of HTTP requests through devhost and through the real worker: same status, headers and body bytes."""

from __future__ import annotations

import gzip
import json
from typing import Any

from tests.conformance.http_through import Answer, Call, via_devhost, via_worker, volatile_free
from tests.support.conformance import Pair

# JSON keys whose values are timings or clocks, blanked on both sides before comparing.
VOLATILE = {"health": ("latency_ms", "lag_seconds"), "health_detail": ("latency_ms", "lag_seconds")}
READER, OPERATOR, BAD_KEY = "reader", "operator", "bad"
# Route values for the app's templates: every HTTP function of the app gets at least one plain GET.
SAMPLE_VALUES = {"region_code": "93", "date": "2024-06-12", "instance_id": "no-such-backfill", "asset": "no-such"}


def _key(pair: Pair, role: str) -> dict[str, str]:
    return {"X-API-Key": pair.keys.get(role, "not-a-key")}


def table(pair: Pair) -> list[tuple[str, Call]]:
    r, o = _key(pair, READER), _key(pair, OPERATOR)
    day = "/v1/production/regional/93/2024-06-12"
    rng = "region_code=93&start_date=2024-06-10&end_date=2024-06-16"
    backfill = json.dumps({"start_date": "2024-01-02", "end_date": "2024-01-03", "region_codes": ["93"]}).encode()
    cors = {"Origin": "https://example.org"}
    return [
        ("health", Call("GET", "/v1/health")),
        ("health HEAD", Call("HEAD", "/v1/health")),
        ("health PUT 405", Call("PUT", "/v1/health")),
        ("regions", Call("GET", "/v1/regions", headers=r)),
        ("regions no key 401", Call("GET", "/v1/regions")),
        ("regions bad key 401", Call("GET", "/v1/regions", headers=_key(pair, BAD_KEY))),
        ("regions key header upper-case", Call("GET", "/v1/regions", headers={"X-API-KEY": pair.keys[READER]})),
        ("regions DELETE 405", Call("DELETE", "/v1/regions", headers=r)),
        ("regions HEAD", Call("HEAD", "/v1/regions", headers=r)),
        ("regions gzip", Call("GET", "/v1/regions", headers={**r, "Accept-Encoding": "gzip"})),
        ("regions CORS", Call("GET", "/v1/regions", headers={**r, **cors})),
        (
            "regions CORS preflight",
            Call("OPTIONS", "/v1/regions", headers={**cors, "Access-Control-Request-Method": "GET"}),
        ),
        ("regions repeated query key", Call("GET", "/v1/regions", "x=1&x=2", headers=r)),
        ("range", Call("GET", "/v1/production/regional", rng, headers=r)),
        ("range gzip", Call("GET", "/v1/production/regional", rng, headers={**r, "Accept-Encoding": "gzip"})),
        ("range empty value dropped", Call("GET", "/v1/production/regional", rng + "&unit=", headers=r)),
        (
            "range bad date 400",
            Call(
                "GET", "/v1/production/regional", "region_code=93&start_date=2024-13-01&end_date=2024-01-02", headers=r
            ),
        ),
        (
            "range reversed 400",
            Call(
                "GET", "/v1/production/regional", "region_code=93&start_date=2024-01-05&end_date=2024-01-02", headers=r
            ),
        ),
        ("range missing params 400", Call("GET", "/v1/production/regional", headers=r)),
        ("day", Call("GET", day, headers=r)),
        ("day unknown region 404", Call("GET", "/v1/production/regional/XXX/2025-01-15", headers=r)),
        ("day bad date 400", Call("GET", "/v1/production/regional/93/12-06-2024", headers=r)),
        ("export 302", Call("GET", "/v1/export/csv", "region_code=93&date=2024-06-12", headers=r)),
        ("export unknown params 400", Call("GET", "/v1/export/csv", rng, headers=r)),
        ("export no key 401", Call("GET", "/v1/export/csv", rng)),
        ("export bad range 400", Call("GET", "/v1/export/csv", "region_code=93", headers=r)),
        ("quarantine reader 403", Call("GET", "/v1/admin/quarantine", headers=r)),
        ("quarantine operator", Call("GET", "/v1/admin/quarantine", headers=o)),
        ("backfill reader 403", Call("POST", "/v1/admin/backfills", headers=r, body=backfill)),
        (
            "backfill bad JSON 400",
            Call("POST", "/v1/admin/backfills", headers={**o, "Content-Type": "application/json"}, body=b"{"),
        ),
        (
            "backfill unknown field 400",
            Call("POST", "/v1/admin/backfills", headers=o, body=b'{"start_date": "2024-01-02", "x": 1}'),
        ),
        ("backfill unknown 404", Call("GET", "/v1/admin/backfills/no-such-backfill", headers=o)),
        ("openapi", Call("GET", "/v1/openapi.json")),
        ("openapi gzip", Call("GET", "/v1/openapi.json", headers={"Accept-Encoding": "gzip"})),
        ("docs", Call("GET", "/v1/docs")),
        ("explorer", Call("GET", "/explorer")),
    ]


def _conditional(pair: Pair, call: Call) -> Call:
    """The same request with If-None-Match set to the ETag devhost gave: the 304 case."""
    etag = via_devhost(pair.devhost.base_url, call).headers.get("etag")
    assert etag, f"{call.target} has no ETag"
    return Call(call.method, call.path, call.query, {**call.headers, "If-None-Match": etag})


def _compare(pair: Pair, name: str, call: Call) -> tuple[Answer, Answer]:
    expected = via_devhost(pair.devhost.base_url, call)
    got = via_worker(pair, call)
    info, _, _ = pair.index.match_http(call.method, call.path)
    keys = VOLATILE.get(info.name if info else "", ())
    if keys and expected.body:
        expected, got = volatile_free(expected, keys), volatile_free(got, keys)
    return expected, got


def _all_cases(pair: Pair) -> list[tuple[str, Call]]:
    cases = table(pair)
    r = _key(pair, READER)
    cases.append(("regions 304", _conditional(pair, Call("GET", "/v1/regions", headers=r))))
    cases.append(
        (
            "range 304",
            _conditional(
                pair,
                Call(
                    "GET",
                    "/v1/production/regional",
                    "region_code=93&start_date=2024-06-10&end_date=2024-06-16",
                    headers=r,
                ),
            ),
        )
    )
    for info in pair.index.http:  # every HTTP function of the app, whatever routes it has today
        assert info.route is not None
        path = "/" + info.route.template.strip("/")
        for name, value in SAMPLE_VALUES.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"add a sample value for {info.route.template} to SAMPLE_VALUES"
        cases.append((f"route {info.name}", Call("GET", path, headers=_key(pair, OPERATOR))))
    return cases


def test_every_request_answers_the_same_through_the_worker(pair: Pair) -> None:
    cases = _all_cases(pair)
    differences: list[str] = []
    for name, call in cases:
        expected, got = _compare(pair, name, call)
        if expected.comparable() != got.comparable():
            differences.append(
                f"{name}: {call.method} {call.target}\n"
                f"  devhost {expected.comparable()!r:.600}\n  worker  {got.comparable()!r:.600}"
            )
    assert not differences, "\n".join(differences)
    statuses = {via_devhost(pair.devhost.base_url, call).status for _, call in cases}
    assert {200, 302, 304, 400, 401, 403, 404, 405} <= statuses
    assert len(cases) >= 30


def test_gzip_bodies_are_gzip_on_both_sides(pair: Pair) -> None:
    call = Call("GET", "/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    expected, got = via_devhost(pair.devhost.base_url, call), via_worker(pair, call)
    assert expected.headers.get("content-encoding") == "gzip"
    assert gzip.decompress(got.body) == gzip.decompress(expected.body)


def test_backfill_post_starts_the_same_orchestration(pair: Pair) -> None:
    """POST through devhost, purge, POST the same through the worker: same answer (both start it on devhost)."""
    body = json.dumps({"start_date": "2024-01-04", "end_date": "2024-01-04", "region_codes": ["93"]}).encode()
    call = Call(
        "POST", "/v1/admin/backfills", headers={**_key(pair, OPERATOR), "Content-Type": "application/json"}, body=body
    )
    answers: list[Any] = []
    for send in (lambda c: via_devhost(pair.devhost.base_url, c), lambda c: via_worker(pair, c)):
        answer = send(call)
        assert answer.status == 202, answer
        instance_id = json.loads(answer.body)["id"]
        pair.devhost.wait_for(instance_id, 120)
        assert via_devhost(
            pair.devhost.base_url, Call("DELETE", f"/v1/admin/backfills/{instance_id}", headers=_key(pair, OPERATOR))
        ).status in (200, 204)
        # Whether the scheduler has picked the run up yet when the 202 is built is timing: Pending or Running.
        assert json.loads(answer.body)["runtime_status"] in ("Pending", "Running"), answer
        timing = ("created_time", "last_updated_time", "progress", "runtime_status")
        answers.append(volatile_free(answer, timing).comparable())
    assert answers[0] == answers[1]
