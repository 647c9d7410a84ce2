"""docs/configuration.md, generated from the descriptions of core.settings.Settings.

    python -m localdev.configuration_doc          # writes docs/configuration.md
    python -m localdev.configuration_doc --check  # exit 1 when it is stale

One line per setting, in the order of Settings: `- `NAME`: description (*local*). Default `x`.` A setting
whose field has no description yet (added on another branch, with its line written by hand) keeps its
current line of docs/configuration.md, so regenerating after a merge loses nothing; the settings test then
asks for the description to move into Settings.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from core.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"

HEADER = """\
# Configuration

## Configuration

<!-- Generated from core/settings.py by `python -m localdev.configuration_doc`: edit the descriptions there. -->

Every setting is an environment variable (an app setting in Azure), read once by `core/settings.py`.
Backends are chosen by which settings are present: with none set, everything is embedded under `DATA_DIR`.
In Azure, `infra/bicep` sets all of them except the local-only ones (marked *local*).
"""

# App settings infra/bicep sets that Settings does not read: they configure the Functions host or the SDKs.
HOST_SETTINGS: dict[str, str] = {
    "AzureWebJobsStorage__accountName": "host storage account, reached with the identity (no connection string).",
    "AzureWebJobsStorage__credential": "`managedidentity`.",
    "AzureWebJobsStorage__clientId": "client id of the user-assigned identity used for host storage.",
    "AZURE_CLIENT_ID": "the same client id, so `DefaultAzureCredential` picks the user-assigned identity.",
    "DURABLE_TASK_HUB": "Durable Functions task hub name (`host.json`). Locally `eco2mixlocal`, in Azure `eco2mix`.",
}


def extra(field: FieldInfo) -> dict[str, Any]:
    return field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}


def local_only(field: FieldInfo) -> str | None:
    """Why Azure never sets this setting, when it is local-only."""
    reason = extra(field).get("local")
    return str(reason) if reason else None


def default_text(field: FieldInfo) -> str:
    if "default_text" in extra(field):
        return str(extra(field)["default_text"])
    value = field.default
    if value is None:
        return "unset"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def setting_line(name: str, field: FieldInfo) -> str:
    meaning = (field.description or "").strip().removesuffix(".")
    local = " (*local*)" if local_only(field) else ""
    return f"- `{name}`: {meaning}{local}. Default {default_text(field)}."


def hand_written_lines(doc: str) -> dict[str, str]:
    """The current line of each setting in a docs/configuration.md text."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^- `([A-Za-z0-9_]+)`: .*$", doc, re.MULTILINE)}


def render(current: str = "", settings: type[BaseSettings] = Settings) -> str:
    """The whole docs/configuration.md; `current` supplies the lines of settings without a description."""
    kept = hand_written_lines(current)
    lines = []
    for name, field in settings.model_fields.items():
        if field.description:
            lines.append(setting_line(name, field))
        elif name in kept:
            lines.append(kept[name])
        else:
            lines.append(f"- `{name}`: (no description: add one in core/settings.py). Default {default_text(field)}.")
    host = [f"- `{name}`: {meaning}" for name, meaning in HOST_SETTINGS.items()]
    return "\n".join(
        [
            HEADER,
            *lines,
            "",
            "Set only in Azure, for the Functions host and the Azure SDKs (not read by `Settings`):",
            "",
            *host,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.configuration_doc", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/configuration.md is stale")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    wanted = render(current)
    if args.check:
        if current != wanted:
            print(f"{DOC} is stale: run python -m localdev.configuration_doc", file=sys.stderr)
            return 1
        return 0
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    for name in missing:
        print(f"note: {name} has no description in core/settings.py; its line was kept as written", file=sys.stderr)
    DOC.write_text(wanted, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
