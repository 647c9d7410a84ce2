"""Behaviour every FileStore adapter must show (embedded folder, Blob Storage), as a table of cases.

Each case receives a store, a way to follow its download links (`Fetch`: the bytes a browser gets and the
Content-Disposition it is told) and a name prefix no other case uses, so cases can share one container.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stores.ports import FileStore

Fetch = Callable[[str], tuple[bytes, str]]
FileCase = Callable[[FileStore, Fetch, str], None]

CSV = "\ufeffDate;Production (MW)\r\n2024-10-27T02:00:00+02:00;12,5\r\n2024-10-27T02:00:00+01:00;\r\n".encode()
CSV_TYPE = "text/csv; charset=utf-8"
# Names that could leave the store's root or alias another name: refused by every operation.
UNSAFE_NAMES = ["../escape.csv", "11/../../escape.csv", "/etc/passwd", "11//x.csv", "11\\x.csv", ".hidden", ""]


def _name(prefix: str, leaf: str = "eco2mix_11_2024-10-27.csv") -> str:
    return f"{prefix}/2024/{leaf}"


def absent_file_is_absent(store: FileStore, fetch: Fetch, prefix: str) -> None:
    assert store.exists(_name(prefix)) is False
    assert store.read(_name(prefix)) is None


def put_then_read_and_exists(store: FileStore, fetch: Fetch, prefix: str) -> None:
    assert store.put(_name(prefix), CSV, CSV_TYPE) is True
    assert store.exists(_name(prefix)) is True
    assert store.read(_name(prefix)) == CSV


def identical_bytes_are_not_rewritten(store: FileStore, fetch: Fetch, prefix: str) -> None:
    store.put(_name(prefix), CSV, CSV_TYPE)
    assert store.put(_name(prefix), CSV, CSV_TYPE) is False
    assert store.read(_name(prefix)) == CSV


def changed_bytes_replace_the_whole_file(store: FileStore, fetch: Fetch, prefix: str) -> None:
    store.put(_name(prefix), CSV, CSV_TYPE)
    for second in (CSV + b"x", CSV[:-1] + b"9", b""):  # longer, same size, empty
        assert store.put(_name(prefix), second, CSV_TYPE) is True
        assert store.read(_name(prefix)) == second


def names_are_independent(store: FileStore, fetch: Fetch, prefix: str) -> None:
    store.put(_name(prefix, "a.csv"), b"a", CSV_TYPE)
    store.put(_name(prefix, "b.csv"), b"b", CSV_TYPE)
    assert (store.read(_name(prefix, "a.csv")), store.read(_name(prefix, "b.csv"))) == (b"a", b"b")


def unsafe_names_are_refused_by_every_operation(store: FileStore, fetch: Fetch, prefix: str) -> None:
    calls: list[Callable[[str], object]] = [
        lambda n: store.put(n, b"x", "text/plain"),
        store.read,
        lambda n: store.read_head(n, 8),
        store.exists,
        lambda n: store.signed_url(n, 60, "x.csv"),
    ]
    for name in UNSAFE_NAMES:
        for call in calls:
            with pytest.raises(ValueError):
                call(name)


def link_downloads_the_bytes_as_an_attachment(store: FileStore, fetch: Fetch, prefix: str) -> None:
    store.put(_name(prefix), CSV, CSV_TYPE)
    data, disposition = fetch(store.signed_url(_name(prefix), 600, "eco2mix_11_2024-10-27.csv"))
    assert data == CSV
    assert disposition == 'attachment; filename="eco2mix_11_2024-10-27.csv"'


def link_carries_a_non_ascii_download_name(store: FileStore, fetch: Fetch, prefix: str) -> None:
    store.put(_name(prefix), CSV, CSV_TYPE)
    _, disposition = fetch(store.signed_url(_name(prefix), 600, "éco2mix Île-de-France.csv"))
    assert "filename*=UTF-8''%C3%A9co2mix%20%C3%8Ele-de-France.csv" in disposition


def link_serves_the_bytes_of_the_latest_put(store: FileStore, fetch: Fetch, prefix: str) -> None:
    store.put(_name(prefix), CSV, CSV_TYPE)
    url = store.signed_url(_name(prefix), 600, "x.csv")
    store.put(_name(prefix), CSV + b"2", CSV_TYPE)
    assert fetch(url)[0] == CSV + b"2"


def head_reads_the_first_bytes_only(store: FileStore, fetch: Fetch, prefix: str) -> None:
    assert store.read_head(_name(prefix), 8) is None  # absent
    store.put(_name(prefix), CSV, CSV_TYPE)
    for size in (1, 8, len(CSV) - 1, len(CSV), len(CSV) + 100):  # within, exactly, past the end
        assert store.read_head(_name(prefix), size) == CSV[:size]
    store.put(_name(prefix, "empty.csv"), b"", CSV_TYPE)
    assert store.read_head(_name(prefix, "empty.csv"), 8) == b""
    with pytest.raises(ValueError):
        store.read_head(_name(prefix), 0)


def ping_succeeds(store: FileStore, fetch: Fetch, prefix: str) -> None:
    store.ping()


FILE_STORE_CASES: list[FileCase] = [
    absent_file_is_absent,
    put_then_read_and_exists,
    identical_bytes_are_not_rewritten,
    changed_bytes_replace_the_whole_file,
    names_are_independent,
    unsafe_names_are_refused_by_every_operation,
    link_downloads_the_bytes_as_an_attachment,
    link_carries_a_non_ascii_download_name,
    link_serves_the_bytes_of_the_latest_put,
    head_reads_the_first_bytes_only,
    ping_succeeds,
]
