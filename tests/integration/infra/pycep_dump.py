"""Parse Bicep files with checkov's own parser (pycep) and print the result as JSON.

Run by the tests with `.venv-checkov/bin/python` (pycep lives only in checkov's venv), so the test
process never imports it. Usage: `pycep_dump.py FILE...`, or `pycep_dump.py -` to parse stdin.
Output: `{"<file>": {"ok": bool, "error": str | null, "template": {...} | null}}`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pycep import BicepParser  # only in .venv-checkov


def parse_text(parser: Any, text: str) -> dict[str, Any]:
    try:
        template = parser.parse(text=text)
    except Exception as error:  # any lark error means "not valid Bicep for checkov"
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return {"ok": False, "error": f"{type(error).__name__}: {first_line}", "template": None}
    return {"ok": True, "error": None, "template": template}


def main(paths: list[str]) -> int:
    parser = BicepParser()
    results: dict[str, Any] = {}
    for path in paths:
        if path == "-":
            results[path] = parse_text(parser, sys.stdin.read())
        else:
            with open(path, encoding="utf-8") as handle:
                results[path] = parse_text(parser, handle.read())
    json.dump(results, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
