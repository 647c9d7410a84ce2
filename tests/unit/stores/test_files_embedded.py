from __future__ import annotations

import errno
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from stores.errors import StoreUnavailable
from stores.file_names import attachment_disposition
from stores.files_embedded import MAX_TTL_SECONDS, EmbeddedFileStore, load_signing_key
from tests.support.file_store_contracts import FILE_STORE_CASES, FileCase

NAME = "11/2024/eco2mix_11_2024-03-31.csv"
CSV = "\ufeffDate;Production (MW)\r\n2024-03-31T00:00:00+01:00;12,5\r\n".encode()
NOW = 1_750_000_000.0

Tamper = Callable[[str, dict[str, str]], tuple[str, dict[str, str]]]


@pytest.fixture
def files(tmp_path: Path) -> EmbeddedFileStore:
    return EmbeddedFileStore(tmp_path / "files", b"k" * 32, "http://127.0.0.1:7071/")


def link_parts(url: str) -> tuple[str, dict[str, str]]:
    """(file name, query) as devhost receives them from GET /_files/{name}?..."""
    parts = urlsplit(url)
    assert parts.path.startswith("/_files/")
    return unquote(parts.path.removeprefix("/_files/")), {k: v[0] for k, v in parse_qs(parts.query).items()}


def fetch_embedded(files: EmbeddedFileStore) -> Callable[[str], tuple[bytes, str]]:
    """What devhost's GET /_files/... answers: the file's bytes and its Content-Disposition."""

    def fetch(url: str) -> tuple[bytes, str]:
        path, download = files.resolve_download(*link_parts(url))
        return path.read_bytes(), attachment_disposition(download)

    return fetch


@pytest.mark.parametrize("case", FILE_STORE_CASES, ids=lambda c: c.__name__)
def test_file_store_contract(files: EmbeddedFileStore, case: FileCase) -> None:
    case(files, fetch_embedded(files), "11")


def test_identical_bytes_leave_the_file_untouched(files: EmbeddedFileStore) -> None:
    files.put(NAME, CSV, "text/csv")
    mtime = (files.root / NAME).stat().st_mtime_ns
    os.utime(files.root / NAME, ns=(mtime - 10**9, mtime - 10**9))
    assert files.put(NAME, CSV, "text/csv") is False
    assert (files.root / NAME).stat().st_mtime_ns == mtime - 10**9


def test_changed_bytes_leave_no_temp_file_behind(files: EmbeddedFileStore) -> None:
    files.put(NAME, CSV, "text/csv")
    files.put(NAME, CSV + b"x", "text/csv")
    assert files.read(NAME) == CSV + b"x"
    assert sorted(p.name for p in (files.root / NAME).parent.iterdir()) == [Path(NAME).name]


def test_a_dot_segment_is_refused(files: EmbeddedFileStore) -> None:
    with pytest.raises(ValueError):
        files.put("a/./b.csv", b"x", "text/plain")


def test_signed_link_resolves_to_the_file_and_download_name(files: EmbeddedFileStore) -> None:
    files.put(NAME, CSV, "text/csv")
    url = files.signed_url(NAME, 600, "eco2mix_11_2024-03-31.csv", now=NOW)
    assert url.startswith("http://127.0.0.1:7071/_files/11/2024/eco2mix_11_2024-03-31.csv?")
    name, query = link_parts(url)
    assert query["expires"] == str(int(NOW) + 600)
    path, download = files.resolve_download(name, query, now=NOW + 599)
    assert path.read_bytes() == CSV
    assert download == "eco2mix_11_2024-03-31.csv"


def test_ttl_is_clamped_to_fifteen_minutes(files: EmbeddedFileStore) -> None:
    _, query = link_parts(files.signed_url(NAME, 86_400, "f.csv", now=NOW))
    assert int(query["expires"]) == int(NOW) + MAX_TTL_SECONDS


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        (lambda n, q: (n, {**q, "expires": str(int(q["expires"]) + 3600)}), PermissionError),
        (lambda n, q: (n, {**q, "filename": "other.csv"}), PermissionError),
        (lambda n, q: (n, {**q, "sig": q["sig"][:-1] + ("0" if q["sig"][-1] != "0" else "1")}), PermissionError),
        (lambda n, q: (n, {k: v for k, v in q.items() if k != "sig"}), PermissionError),
        (lambda n, q: (n, {**q, "expires": "soon"}), PermissionError),
        (lambda n, q: (n.replace("03-31", "04-01"), q), PermissionError),
        (lambda n, q: ("../" + n, q), PermissionError),
    ],
    ids=["later-expiry", "filename", "signature", "no-signature", "bad-expiry", "other-file", "traversal"],
)
def test_tampered_links_are_refused(files: EmbeddedFileStore, tamper: Tamper, error: type[Exception]) -> None:
    files.put(NAME, CSV, "text/csv")
    files.put(NAME.replace("03-31", "04-01"), CSV, "text/csv")
    name, query = tamper(*link_parts(files.signed_url(NAME, 600, "f.csv", now=NOW)))
    with pytest.raises(error):
        files.resolve_download(name, query, now=NOW)


def test_expired_link_is_refused(files: EmbeddedFileStore) -> None:
    files.put(NAME, CSV, "text/csv")
    name, query = link_parts(files.signed_url(NAME, 60, "f.csv", now=NOW))
    files.resolve_download(name, query, now=NOW + 60)
    with pytest.raises(PermissionError, match="expired"):
        files.resolve_download(name, query, now=NOW + 61)


def test_link_signed_with_another_key_is_refused(files: EmbeddedFileStore, tmp_path: Path) -> None:
    files.put(NAME, CSV, "text/csv")
    other = EmbeddedFileStore(files.root, b"another key", "http://127.0.0.1:7071")
    name, query = link_parts(other.signed_url(NAME, 600, "f.csv", now=NOW))
    with pytest.raises(PermissionError):
        files.resolve_download(name, query, now=NOW)


def test_valid_link_to_a_missing_file_is_not_found(files: EmbeddedFileStore) -> None:
    name, query = link_parts(files.signed_url(NAME, 600, "f.csv", now=NOW))
    with pytest.raises(FileNotFoundError):
        files.resolve_download(name, query, now=NOW)


def test_non_ascii_download_name_round_trips(files: EmbeddedFileStore) -> None:
    files.put(NAME, CSV, "text/csv")
    name, query = link_parts(files.signed_url(NAME, 600, "éco2mix Île-de-France.csv", now=NOW))
    assert files.resolve_download(name, query, now=NOW)[1] == "éco2mix Île-de-France.csv"


@pytest.mark.parametrize(
    ("name", "media"),
    [
        (NAME, "text/csv; charset=utf-8"),
        ("a/b.json", "application/json"),
        ("bulk/all/2024/v/eco2mix_all_2024.parquet", "application/vnd.apache.parquet"),
    ],
)
def test_media_type_from_extension(name: str, media: str) -> None:
    assert EmbeddedFileStore.media_type(name) == media


def test_signing_key_from_settings_wins(tmp_path: Path) -> None:
    assert load_signing_key("configured", tmp_path) == b"configured"
    assert not (tmp_path / "files-signing.key").exists()


def test_generated_signing_key_is_created_once_and_private(tmp_path: Path) -> None:
    first = load_signing_key(None, tmp_path / "data")
    assert len(first) == 64
    assert load_signing_key(None, tmp_path / "data") == first
    assert stat.S_IMODE((tmp_path / "data" / "files-signing.key").stat().st_mode) == 0o600
    assert load_signing_key(None, tmp_path / "elsewhere") != first


def test_a_folder_removed_between_two_writes_is_made_again(files: EmbeddedFileStore) -> None:
    files.put(NAME, CSV, "text/csv")
    shutil.rmtree((files.root / NAME).parent)
    assert files.put(NAME, CSV, "text/csv") is True and files.read(NAME) == CSV


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    files: EmbeddedFileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.put(NAME, CSV, "text/csv")

    def disk_full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(StoreUnavailable, match="ENOSPC"):
        files.put(NAME, CSV + b"x", "text/csv")
    assert files.read(NAME) == CSV
    assert sorted(p.name for p in (files.root / NAME).parent.iterdir()) == [Path(NAME).name]


def test_threads_writing_one_file_leave_one_whole_version(files: EmbeddedFileStore) -> None:
    versions = [bytes([65 + i]) * 200_000 for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda data: [files.put(NAME, data, "text/csv") for _ in range(5)], versions))
    assert files.read(NAME) in versions
    assert sorted(p.name for p in (files.root / NAME).parent.iterdir()) == [Path(NAME).name]


def test_superseded_export_versions_are_pruned(files: EmbeddedFileStore) -> None:
    """As the exports container's lifecycle rule: a version superseded longer than a link lives is deleted at the
    next write of that file; one whose newer version is younger, or the newest, stays; the materialized files are
    never touched; bulk/ files 30 days old go (infra/bicep/core/exports-storage.bicep)."""
    now = time.time()

    def version(name: str, age_seconds: float) -> Path:
        files.put(name, name.encode(), "application/vnd.apache.parquet")
        path = files.root / name
        os.utime(path, (now - age_seconds, now - age_seconds))
        return path

    old = version("bulk/all/2024/v1/eco2mix_all_2024.parquet", 3 * MAX_TTL_SECONDS)
    superseded = version("bulk/all/2024/v2/eco2mix_all_2024.parquet", 2 * MAX_TTL_SECONDS)
    recent = version("bulk/all/2024/v3/eco2mix_all_2024.parquet", 60)  # v2's links may still be live
    other_file = version("bulk/all/2024/v0/eco2mix_all_2024.csv", 4 * MAX_TTL_SECONDS)  # another file: its own
    materialized = files.root / NAME
    files.put(NAME, CSV, "text/csv")
    os.utime(materialized, (now - 40 * 86400, now - 40 * 86400))
    newest = version("bulk/all/2024/v4/eco2mix_all_2024.parquet", 0)  # the write that prunes
    assert not old.exists() and not old.parent.exists()
    assert superseded.exists() and recent.exists() and newest.exists() and other_file.exists()
    assert files.sweep_expired(now + 30 * 86400 - 3 * MAX_TTL_SECONDS) == 1  # 30 days after its write: the csv
    assert not other_file.exists() and materialized.exists()
    assert files.read(NAME) == CSV


def fill_disk_for(files: EmbeddedFileStore, name: str) -> Path:
    """The temp file `put` writes first (this process, this thread) made a link to /dev/full: every write
    to it fails with the kernel's own ENOSPC, as on a full disk."""
    path = files.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.symlink_to("/dev/full")
    return tmp


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_store_unavailable(files: EmbeddedFileStore) -> None:
    files.put(NAME, CSV, "text/csv")
    tmp = fill_disk_for(files, NAME)
    with pytest.raises(StoreUnavailable) as err:
        files.put(NAME, CSV + b"x", "text/csv")
    assert err.value.store == "files" and err.value.reason == "ENOSPC"
    assert isinstance(err.value.__cause__, OSError) and err.value.__cause__.errno == errno.ENOSPC
    assert files.read(NAME) == CSV and not tmp.is_symlink()  # the old file kept, the temp name removed


@pytest.mark.parametrize("code", [errno.EIO, errno.EROFS], ids=["EIO", "EROFS"])
def test_full_disk_read_and_io_errors_are_store_unavailable(
    files: EmbeddedFileStore, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    files.put(NAME, CSV, "text/csv")

    def failing(self: Path) -> bytes:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Path, "read_bytes", failing)
    with pytest.raises(StoreUnavailable, match=errno.errorcode[code]):
        files.read(NAME)


def test_full_disk_mapping_leaves_a_missing_file_and_a_bug_alone(files: EmbeddedFileStore) -> None:
    assert files.read("11/2024/absent.csv") is None and files.read_head("11/2024/absent.csv", 3) is None
    (files.root / "11").mkdir()
    with pytest.raises(IsADirectoryError):  # EISDIR: not a disk condition, not a 503
        files.read_head("11", 3)


def test_devhost_data_files_and_folders_are_not_world_readable(tmp_path: Path) -> None:
    """Under the common umask 022, the store's files are 0600 and every folder it makes 0700."""
    previous = os.umask(0o022)
    try:
        files = EmbeddedFileStore(tmp_path / "data" / "files", b"k" * 32, "http://127.0.0.1:7071")
        files.put(NAME, CSV, "text/csv")
    finally:
        os.umask(previous)
    made = [tmp_path / "data" / "files", files.root / "11", files.root / "11" / "2024"]
    assert [oct(stat.S_IMODE(p.stat().st_mode)) for p in made] == [oct(0o700)] * 3
    assert stat.S_IMODE((files.root / NAME).stat().st_mode) == 0o600
