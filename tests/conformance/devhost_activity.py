"""devhost's own activity invocation, in a process with the suite's settings: `python -m ... NAME [BINDING] < input`
(BINDING: the durable client binding JSON, for an activity with a durable client input).

Prints the JSON text devhost records as the activity's result (what `devhost.invoke.run_activity` returns).
"""

from __future__ import annotations

import sys

from devhost.functions import FunctionIndex
from devhost.invoke import run_activity


def main(name: str, client_binding: str | None = None) -> int:
    import function_app

    info = FunctionIndex(function_app.app).activity(name)
    if info is None:
        print(f"no activity {name}", file=sys.stderr)
        return 2
    sys.stdout.write(run_activity(info, sys.stdin.read(), client_binding) or "null")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
