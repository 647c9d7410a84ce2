from __future__ import annotations

import pytest

from bench.http_load import parse_wrk, wrk_script

WRK_LINE = (
    'WRK_JSON {"requests":2000,"duration_us":2000000,"p50_us":1500,"p95_us":4000,"p99_us":9000,"max_us":20000,'
    '"connect":0,"read":1,"write":0,"status":0,"timeout":2,"unexpected":3}'
)


def test_parse_reads_the_done_line_and_counts_every_error_kind() -> None:
    summary = parse_wrk("Running 2s test\n" + WRK_LINE + "\n")
    assert summary["requests"] == 2000
    assert summary["req_per_s"] == 1000.0
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]) == (1.5, 4.0, 9.0)
    assert summary["errors"] == 6
    assert summary["error_kinds"] == {"read": 1, "timeout": 2, "unexpected": 3}


def test_parse_without_summary_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="no summary"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_script_quotes_paths_and_sets_the_key() -> None:
    text = wrk_script(['/v1/a?x="1"', "/v1/b"], "k3y", 302)
    assert '"/v1/a?x=\\"1\\""' in text and '"/v1/b"' in text
    assert 'wrk.headers["X-API-Key"] = "k3y"' in text
    assert "local expected = 302" in text
