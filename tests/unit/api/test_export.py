"""GET /v1/export/csv: exactly one of date/month, 404 for files never written, 302 to a signed link."""

from __future__ import annotations

import pytest

from api.export import ROUTE, _handle, export_file_name, export_link
from api.http import ApiError, respond
from api.params import ExportQuery, parse
from core.settings import Settings
from tests.fakes import MemoryFiles
from tests.unit.api.conftest import FakeStores, MakeRequest


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"region_code": "32", "month": "2024-06"}, "32/2024/eco2mix_32_2024-06.csv"),
        ({"region_code": "11", "date": "2024-03-31"}, "11/2024/eco2mix_11_2024-03-31.csv"),
    ],
)
def test_file_names(params: dict[str, str], name: str) -> None:
    assert export_file_name(parse(ExportQuery, params)) == name


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"region_code": "32"}, 400),
        ({"region_code": "32", "month": "2024-06", "date": "2024-06-01"}, 400),
        ({"region_code": "00", "month": "2024-06"}, 404),
    ],
)
def test_bad_combinations(params: dict[str, str], status: int) -> None:
    with pytest.raises(ApiError) as err:
        export_file_name(parse(ExportQuery, params))
    assert err.value.status == status


def test_missing_file_is_404() -> None:
    with pytest.raises(ApiError) as err:
        export_link(MemoryFiles(), "32/2024/eco2mix_32_2024-06.csv", 600)
    assert err.value.status == 404


def test_redirect_to_the_signed_link_with_the_configured_ttl(
    fake_stores: FakeStores, make_request: MakeRequest, settings: Settings
) -> None:
    fake_stores.files.put("32/2024/eco2mix_32_2024-06.csv", b"\xef\xbb\xbfa;b\n", "text/csv")
    req = make_request("GET", ROUTE.path, params={"region_code": "32", "month": "2024-06"})
    resp = respond(req, ROUTE, _handle, settings)
    assert resp.status_code == 302
    assert resp.headers["Location"] == (
        f"memory://32/2024/eco2mix_32_2024-06.csv?ttl={settings.DOWNLOAD_TTL_SECONDS}&filename=eco2mix_32_2024-06.csv"
    )
    assert resp.headers["Cache-Control"] == "no-store"
