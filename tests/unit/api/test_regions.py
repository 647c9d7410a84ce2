"""GET /v1/regions: all 12 regions and FR from the catalog document, null days where nothing is materialized."""

from __future__ import annotations

from api.regions import list_regions
from api.schemas import RegionList
from domain.regions import AREAS
from tests.support.api_documents import seed
from tests.support.fakes import MemoryDocuments


def test_without_a_catalog_every_region_is_listed_with_null_days() -> None:
    body = list_regions(MemoryDocuments())
    RegionList.model_validate(body)
    assert [r["code"] for r in body["items"]] == [r.code for r in AREAS] and body["items"][-1]["name"] == "France"
    assert all(r["first_day"] is None and r["last_day"] is None for r in body["items"])


def test_catalog_days_are_reported_per_region() -> None:
    docs = MemoryDocuments()
    seed(docs, ["44"], ["2024-02"])
    items = {r["code"]: r for r in list_regions(docs)["items"]}
    assert (items["44"]["first_day"], items["44"]["last_day"]) == ("2024-02-01", "2024-02-29")
    assert items["11"]["first_day"] is None
    assert items["44"]["name"] == "Grand Est" and items["44"]["has_nuclear"] is True
