"""bench.downloads: both sides serve the whole file; the naive one holds it in memory, devhost's does not."""

from __future__ import annotations

import asyncio

from bench.downloads import measure


def test_the_naive_answer_holds_the_file_and_devhosts_does_not() -> None:
    figures = asyncio.run(measure(mib=16, downloads=2, rounds=1))  # raises on a short download
    naive, devhost = figures["naive"], figures["devhost"]
    assert naive["peak_rss_mib"] - naive["rss_before_mib"] >= 16  # read whole (and copied)
    assert devhost["peak_rss_mib"] - devhost["rss_before_mib"] < 8  # sent by sendfile, in place
