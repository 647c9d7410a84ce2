"""Webhooks on the real app over HTTP (devhost), delivered to a real receiver on 127.0.0.1.

A backfill of one region-month gives signed deliveries (verified with the `standardwebhooks` library) covering
every feed item of that run matching each subscription's filter, in feed order; a receiver that fails three
times still gets everything (a redelivery keeps its webhook-id); kill -9 during a delivery series loses
nothing; non-public targets are refused at subscription and at delivery (a redirect is never followed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from devhost.testing import ApiKeys, DevhostProcess, devhost_env, new_api_keys
from tests.support.e2e_api import Api, DevhostServer, assert_problem, prepared_dir
from tests.support.webhook_receiver import Receiver, acknowledged_items

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BACKFILL = {"start_date": "2024-03-01", "end_date": "2024-03-31", "region_codes": ["11"]}
NO_TIMER = ["--no-run-timers-at-start"]
Item = tuple[str, str, str, str]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def launch(
    launch_devhost: Callable[..., DevhostProcess], data_dir: Path, keys: ApiKeys, port: int | None = None, **env: str
) -> DevhostProcess:
    settings = {"WEBHOOKS_ALLOW_LOOPBACK": "true", "WEBHOOKS_RETRY_BASE_SECONDS": "1", **env}
    environment = devhost_env(data_dir, API_KEYS=keys.env_value, MATERIALIZE_SCHEDULE="0 0 0 1 1 *", **settings)
    return launch_devhost(data_dir=data_dir, env=environment, port=port, serve_args=NO_TIMER)


def subscribe(host: DevhostProcess, key: str, url: str, **extra: Any) -> dict[str, Any]:
    response = requests.post(
        f"{host.base_url}/v1/webhooks", json={"url": url, **extra}, headers={"X-API-Key": key}, timeout=30
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_") and response.headers["Location"] == f"/v1/webhooks/{body['id']}"
    return body


def backfill(host: DevhostProcess, key: str) -> str:
    response = requests.post(
        f"{host.base_url}/v1/admin/backfills", json=BACKFILL, headers={"X-API-Key": key}, timeout=30
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def feed_items(host: DevhostProcess, key: str, since: str, keep: Callable[[dict[str, Any]], bool]) -> list[Item]:
    """The feed from `since`, as GET /v1/changes serves it, filtered as the subscription filters."""
    items: list[Item] = []
    url: str | None = f"{host.base_url}/v1/changes?since={since}&limit=1000"
    while url:
        page = requests.get(url, headers={"X-API-Key": key}, timeout=30).json()
        items += [
            (i["region"], i["kind"], i.get("date") or i["month"], i["content_hash"]) for i in page["items"] if keep(i)
        ]
        url = page["next"]
    return items


def verify_all(receiver: Receiver, path: str, secret: str) -> None:
    """Every request at `path` carries a Standard Webhooks signature the library accepts."""
    hook = Webhook(secret)
    for request in receiver.at(path):
        hook.verify(request.body, request.headers)  # raises WebhookVerificationError when it does not verify
    with pytest.raises(Exception, match="signature"):
        hook.verify(receiver.at(path)[0].body + " ", receiver.at(path)[0].headers)


def deliveries(host: DevhostProcess, key: str, subscription_id: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{host.base_url}/v1/webhooks/{subscription_id}/deliveries", headers={"X-API-Key": key}, timeout=30
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_backfill_gives_signed_deliveries_of_every_matching_change(
    launch_devhost: Callable[..., DevhostProcess], devhost_server: DevhostServer, tmp_path: Path, receiver: Receiver
) -> None:
    keys = new_api_keys()
    host = launch(launch_devhost, prepared_dir(tmp_path, "data", devhost_server.data_dir / "gold.sqlite"), keys)
    receiver.scripts = {"/flaky": [500, 500, 500, 200], "/redirect": [302]}
    everything = subscribe(host, keys.reader, receiver.url("/all"))
    days = subscribe(host, keys.reader, receiver.url("/days"), filter={"regions": ["11"], "kinds": ["day"]})
    elsewhere = subscribe(host, keys.reader, receiver.url("/elsewhere"), filter={"regions": ["84"]})
    flaky = subscribe(host, keys.operator, receiver.url("/flaky"))
    redirect = subscribe(host, keys.reader, receiver.url("/redirect"))

    instance_id = backfill(host, keys.operator)
    assert host.wait_for(instance_id, 300)["runtimeStatus"] == "Completed"
    expected_all = feed_items(host, keys.reader, everything["cursor"], lambda i: True)
    expected_days = [i for i in expected_all if i[0] == "11" and i[1] == "day"]
    # the region's days and month, and France's (rebuilt for the days a region changed)
    assert len(expected_days) == 31 and {i[0] for i in expected_all} == {"11", "FR"} and len(expected_all) > 62

    receiver.wait_until(lambda: acknowledged_items(receiver.at("/all")) == expected_all, 120, "/all")
    receiver.wait_until(lambda: acknowledged_items(receiver.at("/days")) == expected_days, 120, "/days")
    receiver.wait_until(lambda: acknowledged_items(receiver.at("/flaky")) == expected_all, 120, "/flaky")
    for path, subscription in (("/all", everything), ("/days", days), ("/flaky", flaky)):
        verify_all(receiver, path, subscription["secret"])
    assert receiver.at("/elsewhere") == []  # nothing of region 84 changed

    # 500 three times, then 200: the same body under the same webhook-id each time.
    flaky_requests = receiver.at("/flaky")
    assert [r.answered for r in flaky_requests[:4]] == [500, 500, 500, 200]
    assert len({(r.headers["webhook-id"], r.body) for r in flaky_requests[:4]}) == 1
    attempts = deliveries(host, keys.operator, flaky["id"])
    assert [a["status"] for a in attempts[-4:]] == [200, 500, 500, 500]  # newest first
    assert all(a["latency_ms"] >= 0 for a in attempts)

    # A redirect is an answer, never followed: recorded, retried, the subscription's cursor stays.
    receiver.wait_until(lambda: len(receiver.at("/redirect")) >= 2, 60, "two redirected attempts")
    redirected = deliveries(host, keys.reader, redirect["id"])
    assert redirected and all(a["status"] == 302 and "not followed" in a["error"] for a in redirected)
    assert (
        requests.get(
            f"{host.base_url}/v1/webhooks/{redirect['id']}", headers={"X-API-Key": keys.reader}, timeout=30
        ).json()["delivered_batches"]
        == 0
    )

    # Owners: a reader sees its own, an operator sees all; the secret is never shown again.
    listed = requests.get(f"{host.base_url}/v1/webhooks", headers={"X-API-Key": keys.reader}, timeout=30).json()
    assert {s["id"] for s in listed["items"]} == {everything["id"], days["id"], elsewhere["id"], redirect["id"]}
    assert all("secret" not in s for s in listed["items"])
    everyone = requests.get(f"{host.base_url}/v1/webhooks", headers={"X-API-Key": keys.operator}, timeout=30).json()
    assert flaky["id"] in {s["id"] for s in everyone["items"]}
    assert (
        requests.get(
            f"{host.base_url}/v1/webhooks/{flaky['id']}", headers={"X-API-Key": keys.reader}, timeout=30
        ).status_code
        == 404
    )
    gone = requests.delete(
        f"{host.base_url}/v1/webhooks/{redirect['id']}", headers={"X-API-Key": keys.reader}, timeout=30
    )
    assert gone.status_code == 204


def test_kill_9_during_a_delivery_series_loses_no_change(
    launch_devhost: Callable[..., DevhostProcess], devhost_server: DevhostServer, tmp_path: Path, receiver: Receiver
) -> None:
    keys = new_api_keys()
    data_dir = prepared_dir(tmp_path, "data", devhost_server.data_dir / "gold.sqlite")
    small = "3"  # WEBHOOKS_BATCH_SIZE: ~11 deliveries for the month
    host = launch(launch_devhost, data_dir, keys, WEBHOOKS_BATCH_SIZE=small)
    receiver.delay_seconds = 0.3
    subscription = subscribe(host, keys.reader, receiver.url("/hook"))
    instance_id = backfill(host, keys.operator)
    assert host.wait_for(instance_id, 300)["runtimeStatus"] == "Completed"
    expected = feed_items(host, keys.reader, subscription["cursor"], lambda i: True)

    receiver.wait_until(lambda: len(receiver.at("/hook")) >= 3, 60, "the first deliveries")
    host.kill()
    assert host.process is not None and host.process.returncode == -9
    before = len(acknowledged_items(receiver.at("/hook")))
    assert 0 < before < len(expected)

    resumed = launch(launch_devhost, data_dir, keys, port=host.port, WEBHOOKS_BATCH_SIZE=small)
    receiver.wait_until(lambda: acknowledged_items(receiver.at("/hook")) == expected, 180, "every change")
    verify_all(receiver, "/hook", subscription["secret"])
    ids = [r.headers["webhook-id"] for r in receiver.at("/hook")]
    assert len(set(ids)) == len(range(0, len(expected), 3))  # one id per batch, a redelivery keeping its id
    resumed.stop()


REFUSED = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://localhost/hook", "loopback"),  # a name that resolves to a loopback address
    ("https://10.0.0.1/hook", "private"),
    ("https://167772161/hook", "private"),  # a name that resolves to 10.0.0.1 (no DNS: inet_aton's form)
    ("https://[::ffff:10.0.0.1]/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("http://93.184.215.14/hook", "https"),
    ("https://user:pw@93.184.215.14/hook", "credentials"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_a_non_public_target_is_refused_at_subscription(api: Api, url: str, reason: str) -> None:
    """On the session's devhost, which runs without WEBHOOKS_ALLOW_LOOPBACK (as Azure)."""
    response = api.call("POST", "/v1/webhooks", role="reader", json={"url": url})
    problem = assert_problem(response, 400)
    assert [e["parameter"] for e in problem["errors"]] == ["url"]
    assert reason in problem["errors"][0]["message"]


def test_a_target_refused_at_delivery_is_never_contacted(
    launch_devhost: Callable[..., DevhostProcess], devhost_server: DevhostServer, tmp_path: Path, receiver: Receiver
) -> None:
    """Subscribed while loopback was allowed, delivered after a restart without it: the connection is refused."""
    keys = new_api_keys()
    data_dir = prepared_dir(tmp_path, "data", devhost_server.data_dir / "gold.sqlite")
    host = launch(launch_devhost, data_dir, keys)
    subscription = subscribe(host, keys.reader, receiver.url("/hook"))
    host.stop()
    strict = launch(launch_devhost, data_dir, keys, port=host.port, WEBHOOKS_ALLOW_LOOPBACK="false")
    instance_id = backfill(strict, keys.operator)
    assert strict.wait_for(instance_id, 300)["runtimeStatus"] == "Completed"
    receiver.wait_until(lambda: bool(deliveries(strict, keys.reader, subscription["id"])), 60, "an attempt")
    attempt = deliveries(strict, keys.reader, subscription["id"])[0]
    assert attempt["status"] is None and "refused target" in attempt["error"]
    assert receiver.at("/hook") == []
