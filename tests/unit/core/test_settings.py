"""Settings fail closed in Azure: a store that resolves to the embedded local backend refuses the start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings

AZURE_BACKENDS = {
    "COSMOS_ENDPOINT": "https://cosmos-x.documents.azure.com:443/",
    "BLOB_ACCOUNT_URL": "https://stx.blob.core.windows.net/",
    "GOLD_SQL_SERVER": "sql-x.database.windows.net",
}


@pytest.mark.parametrize(("missing", "port"), [("COSMOS_ENDPOINT", "documents"), ("BLOB_ACCOUNT_URL", "files"),
                                               ("GOLD_SQL_SERVER", "Gold")])  # fmt: skip
def test_embedded_backend_refused_in_azure(monkeypatch: pytest.MonkeyPatch, missing: str, port: str) -> None:
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "a1b2c3")
    for name, value in AZURE_BACKENDS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    with pytest.raises(ValidationError) as raised:
        Settings()
    (error,) = raised.value.errors()
    message = error["msg"]
    assert f"{port} (set {missing})" in message and "Refusing to start" in message
    # Only the one missing is named.
    assert all(other not in message for other in AZURE_BACKENDS if other != missing)


def test_azure_with_every_backend_set_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_INSTANCE_ID", "a1b2c3")
    for name, value in AZURE_BACKENDS.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.documents_backend, settings.files_backend, settings.gold_backend) == ("cosmos", "blob", "odbc")


def test_embedded_backends_are_the_default_outside_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBSITE_INSTANCE_ID", raising=False)
    for name in AZURE_BACKENDS:
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.documents_backend, settings.files_backend, settings.gold_backend) == (
        "embedded",
        "embedded",
        "sqlite",
    )
