"""docs/configuration.md is generated from core.settings.Settings (`python -m localdev.configuration_doc`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from core.settings import Settings
from localdev import configuration_doc as doc


def test_docs_configuration_md_is_up_to_date() -> None:
    current = doc.DOC.read_text(encoding="utf-8")
    assert current == doc.render(current), "docs/configuration.md is stale: run python -m localdev.configuration_doc"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_has_its_description_in_settings(name: str) -> None:
    """A setting added with a hand-written line in docs/configuration.md: move that text into the field's
    `Field(description=...)` (and `json_schema_extra={"local": why}` when Azure never sets it)."""
    assert Settings.model_fields[name].description, f"{name}: no description in core/settings.py"


def test_a_line_is_the_description_local_mark_and_default() -> None:
    fields = Settings.model_fields
    assert doc.setting_line("BLOB_CONTAINER", fields["BLOB_CONTAINER"]) == (
        "- `BLOB_CONTAINER`: container of the CSV exports. Default `exports`."
    )
    assert doc.setting_line("COSMOS_VERIFY_TLS", fields["COSMOS_VERIFY_TLS"]).endswith("(*local*). Default `true`.")
    assert doc.setting_line("STORE_READ_TIMEOUT_SECONDS", fields["STORE_READ_TIMEOUT_SECONDS"]).endswith("`2`.")
    assert doc.setting_line("CORS_ALLOWED_ORIGINS", fields["CORS_ALLOWED_ORIGINS"]).endswith(
        "Default empty (no CORS headers)."
    )
    assert doc.setting_line("AUTH_AUDIENCE", fields["AUTH_AUDIENCE"]).endswith("Default unset.")


def test_a_setting_without_description_keeps_its_hand_written_line() -> None:
    class Later(Settings):
        NEW_KNOB: int = Field(default=5)
        OTHER_KNOB: str = "x"

    hand = "- `NEW_KNOB`: a knob added on another branch, 1 to 9. Default `5`."
    text = doc.render(doc.DOC.read_text(encoding="utf-8") + hand + "\n", Later)
    assert hand in text.splitlines()
    assert "- `OTHER_KNOB`: (no description: add one in core/settings.py). Default `x`." in text.splitlines()


def test_the_command_writes_then_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "configuration.md"
    target.write_text("# stale\n", encoding="utf-8")
    monkeypatch.setattr(doc, "DOC", target)
    assert doc.main(["--check"]) == 1
    assert doc.main([]) == 0
    assert doc.main(["--check"]) == 0
    assert target.read_text(encoding="utf-8") == doc.DOC.read_text(encoding="utf-8") == doc.render()
