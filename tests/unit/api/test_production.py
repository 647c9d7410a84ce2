"""Production reads: DST-correct intervals, energy = MW × hours, nulls kept, pages, limits, ETags."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import orjson
import pytest

from api.http import ApiError
from api.params import RangeQuery, parse
from api.production import DAY_ROUTE, RANGE_ROUTE
from api.reader import canonical_params, canonical_query, production_page, rendered_day
from api.schemas import DayProductionItem, ProductionItem, ProductionPage
from core.settings import Settings
from domain.regions import REGIONS
from domain.sources import ALL_SOURCES
from stores.documents_embedded import EmbeddedDocumentStore
from stores.reads_local import LocalDocumentReads, rendered_document
from tests.support.api_documents import FakeStores, MakeRequest, make_day_doc, respond_now, seed
from tests.support.fakes import CountingDocuments, MemoryDocuments


@pytest.fixture
def docs() -> CountingDocuments:
    store = CountingDocuments()
    seed(store, ["11", "32"], ["2024-03", "2024-10"])
    return store


def page(docs: MemoryDocuments, **params: str) -> dict[str, Any]:
    query = parse(RangeQuery, params)
    url = "http://h/v1/production/regional?"
    body, _ = asyncio.run(production_page(LocalDocumentReads(docs), query, lambda query_string: url + query_string))
    ProductionPage.model_validate(body)
    return body


@pytest.mark.parametrize(
    ("day", "granularity", "count"),
    [
        ("2024-03-31", "30min", 46),
        ("2024-03-31", "hour", 23),
        ("2024-10-27", "30min", 50),
        ("2024-10-27", "hour", 25),
        ("2024-10-28", "30min", 48),
        ("2024-10-28", "hour", 24),
        ("2024-03-31", "day", 1),
    ],
)
def test_dst_days_have_their_real_interval_counts(
    docs: CountingDocuments, day: str, granularity: str, count: int
) -> None:
    body = page(docs, region_code="11", start_date=day, end_date=day, granularity=granularity)
    assert body["total"] == count == len(body["items"])
    stamps = [i["timestamp"] for i in body["items"]]
    assert len(set(stamps)) == len(stamps)  # the repeated October hour differs by its offset


def test_a_month_of_half_hours_is_read_from_day_documents_of_one_partition(docs: CountingDocuments) -> None:
    body = page(
        docs, region_code="11", start_date="2024-03-01", end_date="2024-03-31", granularity="30min", limit="5000"
    )
    assert body["total"] == 31 * 48 - 2
    assert docs.ranges == [("11", "day")] and docs.gets == 0


def test_granularity_day_reads_month_documents(docs: CountingDocuments) -> None:
    body = page(docs, region_code="32", start_date="2024-03-15", end_date="2024-10-31", granularity="day")
    assert docs.ranges == [("32", "month")]
    assert [i["date"] for i in body["items"]][:2] == ["2024-03-15", "2024-03-16"]
    assert body["total"] == 17 + 31  # only seeded months exist
    for item in body["items"]:
        DayProductionItem.model_validate(item)


@pytest.mark.parametrize(("day", "hours"), [("2024-03-31", 23), ("2024-10-27", 25), ("2024-03-30", 24)])
def test_day_energy_is_mw_times_hours_and_mean_mw_is_energy_over_hours(
    docs: CountingDocuments, day: str, hours: int
) -> None:
    (item,) = page(docs, region_code="32", start_date=day, end_date=day, granularity="day")["items"]
    assert item["energy_mwh"]["eolien"] == pytest.approx(50.0 * hours)
    assert item["energy_mwh"]["nucleaire"] == pytest.approx(1000.0 * hours)
    assert item["sources"]["eolien"] == pytest.approx(50.0)
    assert item["interval_count"] == hours * 2
    assert item["energy_mwh"]["solaire"] is None and item["sources"]["solaire"] is None  # missing, not zero


@pytest.mark.parametrize(
    ("region", "source", "expected_mw", "granularity"),
    [
        ("32", "nucleaire", 1000.0, "hour"),
        ("11", "nucleaire", None, "hour"),  # no nuclear plant: null, not zero
        ("11", "solaire", None, "30min"),
        ("11", "eolien", 50.0, "day"),
        ("11", "consommation", 900.0, "hour"),
    ],
)
def test_source_type_keeps_only_that_source(
    docs: CountingDocuments, region: str, source: str, expected_mw: float | None, granularity: str
) -> None:
    body = page(
        docs,
        region_code=region,
        start_date="2024-03-02",
        end_date="2024-03-02",
        source_type=source,
        granularity=granularity,
    )
    for item in body["items"]:
        assert list(item["sources"]) == [source]
        assert item["sources"][source] == expected_mw
        assert set(item["facteur_charge"]) <= {source}


def test_all_regions_in_insee_order_and_only_materialized_ones(docs: CountingDocuments) -> None:
    body = page(docs, start_date="2024-03-02", end_date="2024-03-02", granularity="hour")
    assert [r for r, t in docs.ranges if t == "month"] == [r.code for r in REGIONS]
    assert [r for r, t in docs.ranges if t == "day"] == ["11", "32"]  # only regions with data on the page
    assert [i["region"] for i in body["items"]] == ["11"] * 24 + ["32"] * 24
    assert body["items"][0]["region_name"] == "Île-de-France"
    assert body["units"] == {"power": "MW", "energy": "MWh", "load_factor": "%", "carbon_intensity": "gCO2eq/kWh"}


def test_pages_chain_through_next_links_without_gaps_or_repeats(docs: CountingDocuments) -> None:
    params = {"start_date": "2024-03-30", "end_date": "2024-04-01", "granularity": "hour", "limit": "40"}
    seen: list[tuple[str, str]] = []
    while True:
        body = page(docs, **params)
        seen += [(i["region"], i["timestamp"]) for i in body["items"]]
        if body["next"] is None:
            break
        params = {k: v[0] for k, v in parse_qs(urlparse(body["next"]).query).items()}
    expected = 2 * (24 + 23)  # two regions, March 30 and 31 (April not seeded)
    assert len(seen) == len(set(seen)) == expected


@pytest.mark.parametrize("granularity", ["hour", "30min"])
@pytest.mark.parametrize(("offset", "limit"), [(0, 5000), (0, 10), (40, 30), (45, 100), (90, 5), (200, 10)])
def test_several_regions_read_only_the_days_of_the_page_and_match_the_full_read(
    docs: CountingDocuments, granularity: str, offset: int, limit: int
) -> None:
    from api.reader import _all_rows

    params = {"start_date": "2024-03-30", "end_date": "2024-04-02", "granularity": granularity}
    body = page(docs, **params, offset=str(offset), limit=str(limit))
    rows, _ = asyncio.run(_all_rows(LocalDocumentReads(docs), parse(RangeQuery, params), [r.code for r in REGIONS]))
    assert body["total"] == len(rows)
    assert [(i["region"], i["timestamp"]) for i in body["items"]] == [
        (doc["region_code"], iv["timestamp"]) for doc, iv in rows[offset : offset + limit]
    ]


def test_several_regions_fall_back_to_the_full_read_when_a_month_document_lags(docs: CountingDocuments) -> None:
    # A day written after its month rollup (materialization in progress): the month plan is not trusted.
    extra = make_day_doc("11", "2024-04-01")
    docs.upsert(extra)
    body = page(docs, start_date="2024-03-31", end_date="2024-04-01", granularity="hour")
    assert body["total"] == 23 + 24 + 23  # region 11: both days; region 32: March 31 only
    assert [(i["region"], i["timestamp"][:10]) for i in body["items"]].count(("11", "2024-04-01")) == 24


def test_items_keep_missing_consumption_as_null() -> None:
    store = MemoryDocuments()
    store.upsert(make_day_doc("53", "2024-06-01", consumption=None))
    body = page(store, region_code="53", start_date="2024-06-01", end_date="2024-06-01")
    assert all(i["consumption_mw"] is None for i in body["items"])
    for item in body["items"]:
        ProductionItem.model_validate(item)


@pytest.mark.parametrize(
    ("params", "status", "phrase"),
    [
        ({"start_date": "2024-01-01", "end_date": "2024-02-01"}, 400, "at most 31 days"),
        ({"start_date": "2024-01-01", "end_date": "2024-02-01", "granularity": "30min"}, 400, "at most 31 days"),
        ({"start_date": "2024-01-01", "end_date": "2025-01-01", "granularity": "day"}, 400, "at most 366 days"),
        ({"start_date": "2024-02-01", "end_date": "2024-01-01"}, 400, "before start_date"),
        ({"start_date": "2024-01-01", "end_date": "2024-01-02", "region_code": "99"}, 400, "Invalid query"),
        ({"start_date": "2024-01-01", "end_date": "2024-01-01", "region_code": "32' OR 1=1--"}, 400, "Invalid query"),
    ],
)
def test_range_errors(docs: CountingDocuments, params: dict[str, str], status: int, phrase: str) -> None:
    with pytest.raises(ApiError) as err:
        page(docs, **params)
    assert err.value.status == status and phrase in err.value.detail


def test_a_leap_year_of_days_is_allowed(docs: CountingDocuments) -> None:
    body = page(docs, region_code="11", start_date="2024-01-01", end_date="2024-12-31", granularity="day", limit="5000")
    assert body["total"] == 31 + 31
    assert docs.ranges == [("11", "month")]


def day_document(docs: Any, region: str, day: str) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(asyncio.run(rendered_day(LocalDocumentReads(docs), region, day)).body)
    return parsed


def test_day_document_is_one_point_read(docs: CountingDocuments) -> None:
    doc = day_document(docs, "11", "2024-03-31")
    assert docs.ranges == []
    assert doc["interval_count"] == 46 and len(doc["hourly"]) == 23


@pytest.mark.parametrize(("region", "day", "status"), [("11", "2024-05-01", 404), ("99", "2024-03-01", 404)])
def test_day_document_not_found(docs: CountingDocuments, region: str, day: str, status: int) -> None:
    with pytest.raises(ApiError) as err:
        day_document(docs, region, day)
    assert err.value.status == status


def test_store_metadata_is_not_served() -> None:
    """A document read parsed (the Cosmos DB item) is answered without the store's `_rid`, `_etag`..."""
    doc = make_day_doc("11", "2024-06-01")
    rendered = rendered_document({**doc, "_rid": "x", "_etag": "y"})
    assert rendered.body == orjson.dumps(doc) and rendered.content_hash == doc["content_hash"]


# Keyed responses are private: a shared cache must not serve them to callers without a key.
@pytest.mark.parametrize(
    ("final", "cache_control"),
    [(True, "private, max-age=31536000, immutable"), (False, "private, max-age=300")],
)
def test_day_route_etag_and_cache_policy(
    fake_stores: FakeStores, make_request: MakeRequest, settings: Settings, final: bool, cache_control: str
) -> None:
    doc = make_day_doc("24", "2024-07-14", final=final)
    fake_stores.documents.upsert(doc)
    req = make_request(
        "GET", "/v1/production/regional/24/2024-07-14", route_params={"region_code": "24", "date": "2024-07-14"}
    )
    resp = respond_now(req, DAY_ROUTE, __import__("api.production").production._day, settings)
    assert resp.status_code == 200
    assert resp.headers["ETag"] == f'"{doc["content_hash"]}"'
    assert resp.headers["Cache-Control"] == cache_control
    assert json.loads(resp.get_body())["date"] == "2024-07-14"
    again = make_request(
        "GET",
        "/v1/production/regional/24/2024-07-14",
        route_params={"region_code": "24", "date": "2024-07-14"},
        headers={"If-None-Match": resp.headers["ETag"]},
    )
    not_modified = respond_now(again, DAY_ROUTE, __import__("api.production").production._day, settings)
    assert not_modified.status_code == 304 and not_modified.headers["Cache-Control"] == cache_control


def test_range_route_next_link_is_absolute_and_etag_varies_with_the_page(
    fake_stores: FakeStores, make_request: MakeRequest, settings: Settings
) -> None:
    from api.production import _range

    seed(fake_stores.documents, ["93"], ["2024-07"])
    params = {"region_code": "93", "start_date": "2024-07-01", "end_date": "2024-07-31", "limit": "100"}
    first = respond_now(make_request("GET", RANGE_ROUTE.path, params=params), RANGE_ROUTE, _range, settings)
    body = json.loads(first.get_body())
    assert body["total"] == 31 * 24 and body["count"] == 100
    assert body["next"].startswith("http://127.0.0.1:7071/v1/production/regional?") and "offset=100" in body["next"]
    second = respond_now(
        make_request("GET", RANGE_ROUTE.path, params={**params, "offset": "100"}), RANGE_ROUTE, _range, settings
    )
    assert first.headers["ETag"] != second.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, max-age=300"


@pytest.mark.parametrize("backend", ["embedded", "memory"])
@pytest.mark.parametrize("accept", ["gzip", None])
def test_a_point_read_answers_the_stored_document_as_bytes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_request: MakeRequest,
    settings: Settings,
    backend: str,
    accept: str | None,
) -> None:
    """The same bytes whether the store keeps them (embedded: stored JSON and gzip form) or they are encoded."""
    from api import production

    store: Any = EmbeddedDocumentStore(tmp_path / "documents.sqlite") if backend == "embedded" else MemoryDocuments()
    doc = make_day_doc("11", "2024-03-31", final=True)
    store.upsert(doc)
    monkeypatch.setattr("stores.factory.get_read_stores", lambda: FakeStores(store, None))
    headers = {"Accept-Encoding": accept} if accept else {}
    req = make_request(
        "GET",
        "/v1/production/regional/11/2024-03-31",
        route_params={"region_code": "11", "date": "2024-03-31"},
        headers=headers,
    )
    resp = respond_now(req, DAY_ROUTE, production._day, settings)
    raw = resp.get_body()
    assert (resp.headers.get("Content-Encoding") == "gzip") is (accept == "gzip")
    assert (gzip.decompress(raw) if accept else raw) == orjson.dumps(doc)


@pytest.mark.parametrize(
    "params",
    [
        {"granularity": "hour"},
        {"region_code": "93", "granularity": "30min", "limit": "7", "offset": "49"},
        *({"region_code": "11", "source_type": source, "granularity": "day"} for source in ALL_SOURCES),
    ],
)
def test_the_canonical_query_is_the_urlencoded_canonical_parameters(params: dict[str, str]) -> None:
    query = parse(RangeQuery, {"start_date": "2024-03-01", "end_date": "2024-03-31", **params})
    for offset in (query.offset, query.offset + query.limit):
        assert canonical_query(query, offset) == urlencode(canonical_params(query, offset))


@pytest.mark.parametrize(
    "params",
    [
        {"region_code": "93", "limit": "1000"},  # one region, whole runs: the runs' deflate segments
        {"region_code": "93", "limit": "50", "offset": "30"},  # cut runs
        {"granularity": "day"},  # every region: the body compressed whole
    ],
)
def test_a_range_answered_in_gzip_is_the_identity_answer_compressed(
    fake_stores: FakeStores, make_request: MakeRequest, settings: Settings, params: dict[str, str]
) -> None:
    from api.production import _range

    seed(fake_stores.documents, ["93", "11"], ["2024-07"])
    query = {"start_date": "2024-07-01", "end_date": "2024-07-31", **params}

    def get(accept: str | None) -> Any:
        request = make_request(
            "GET", RANGE_ROUTE.path, params=query, headers={"Accept-Encoding": accept} if accept else {}
        )
        return respond_now(request, RANGE_ROUTE, _range, settings)

    plain, compressed = get(None), get("gzip")
    assert compressed.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert gzip.decompress(compressed.get_body()) == plain.get_body()
    assert compressed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
