"""Embedded file store: files in a folder, downloaded through HMAC-signed, expiring links served by devhost."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import mimetypes
import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote, urlencode

from stores.errors import StoreUnavailable
from stores.file_names import check_name

STORE_NAME = "files"
# Disk conditions that freeing space or a later retry may cure: the API answers 503 + Retry-After (as a Blob
# fault), not a 500. A missing file (ENOENT) or a bug (EISDIR, EACCES on a wrong root) passes through.
TRANSIENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EAGAIN, errno.EMFILE, errno.ENFILE, errno.EBUSY}
)


@contextlib.contextmanager
def disk_faults_as_unavailable(store: str = STORE_NAME) -> Iterator[None]:
    """Turn a full, failing or read-only disk into StoreUnavailable; any other OSError passes through."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in TRANSIENT_ERRNOS:
            raise
        raise StoreUnavailable(store, errno.errorcode.get(exc.errno, str(exc.errno))) from exc


# Exports are served through signed links only: their files (0600) and folders are the owner's alone, whatever
# the umask (a shared machine's other users would read them straight off the disk).
PRIVATE_DIR_MODE = 0o700
# Same ceiling as the Blob SAS links: a leaked link is short-lived.
MAX_TTL_SECONDS = 900
SIGNING_KEY_FILE = "files-signing.key"

# Versioned export files (domain.bulk_export: bulk/<scope>/<period>/<version>/<file>). In Azure the exports
# container's lifecycle rule 'expire-bulk-export-versions' (infra/bicep/core/exports-storage.bicep) deletes blobs
# under bulk/ 30 days after their last write; this store does the same, and sooner drops a version once a newer
# one of the same file has existed longer than any link (links to a version are signed only while it is the
# newest), so a reader polling during a backfill does not leave a 5 MB file per poll on disk.
VERSIONED_PREFIX = "bulk/"
VERSIONS_EXPIRE_SECONDS = 30 * 86400  # the rule's daysAfterModificationGreaterThan: 30
SWEEP_EVERY_SECONDS = 3600  # the 30-day sweep of bulk/, at most this often (Azure runs its rule once a day)


def _signature(key: bytes, name: str, expires: int, filename: str) -> str:
    message = f"{name}|{expires}|{filename}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def load_signing_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured key, else a random key created once in `data_dir` and shared by every process."""
    if configured:
        return configured.encode()
    path = data_dir / SIGNING_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of several processes starting together, exactly one creates the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    for _ in range(50):  # the creator may not have written it yet
        key = path.read_text().strip()
        if key:
            return key.encode()
        time.sleep(0.01)
    raise RuntimeError(f"empty signing key file: {path}")


def _private_dirs(folder: Path) -> None:
    """Make `folder` and its missing parents with PRIVATE_DIR_MODE (Path.mkdir(parents=True) gives the parents
    it makes the umask's default mode)."""
    missing = []
    while not folder.is_dir() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another writer made it meanwhile
            path.mkdir(mode=PRIVATE_DIR_MODE)


class EmbeddedFileStore:
    """FileStore over a local folder."""

    def __init__(self, root: Path, signing_key: bytes, public_base_url: str) -> None:
        if not signing_key:
            raise ValueError("signing_key must not be empty")
        self.root = Path(root).resolve()
        self.root.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        self._key = signing_key
        self._base_url = public_base_url.rstrip("/")
        self._folders: set[Path] = set()  # folders known to exist: no mkdir per file
        self._swept = 0.0  # last 30-day sweep of bulk/ (monotonic seconds; 0: not yet)

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)

    def put(self, name: str, data: bytes, content_type: str) -> bool:
        # content_type is not stored: the extension gives it back (media_type).
        path = self._path(name)
        with disk_faults_as_unavailable():
            written = self._put(path, data)
            if written and name.startswith(VERSIONED_PREFIX):
                self.prune_versions(path)
                if time.monotonic() - self._swept > SWEEP_EVERY_SECONDS or not self._swept:
                    self._swept = time.monotonic()
                    self.sweep_expired()
        return written

    def _put(self, path: Path, data: bytes) -> bool:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return False
        # Temp file in the same folder + os.replace: a reader sees the old bytes or the new, never a part.
        # Named by process and thread (no writer shares it): one open, no random names tried one by one.
        tmp = path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            fd = self._create(tmp)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return True

    def prune_versions(self, path: Path, now: float | None = None) -> int:
        """Delete the superseded versions of the versioned file at `path`: of the versions written more than
        MAX_TTL_SECONDS ago, all but the newest (a link to an older one has expired: it was signed while that
        one was the newest). Returns how many were deleted."""
        cutoff = (time.time() if now is None else now) - MAX_TTL_SECONDS
        aged: list[tuple[float, Path]] = []
        for version in path.parent.parent.glob(f"*/{path.name}"):
            with contextlib.suppress(FileNotFoundError):
                if (mtime := version.stat().st_mtime) <= cutoff:
                    aged.append((mtime, version))
        aged.sort()
        return sum(self._delete(version) for _, version in aged[:-1])

    def sweep_expired(self, now: float | None = None) -> int:
        """Delete every file under bulk/ last written more than 30 days ago (the lifecycle rule); a current version
        deleted so is built again by its next request, as in Azure."""
        cutoff = (time.time() if now is None else now) - VERSIONS_EXPIRE_SECONDS
        deleted = 0
        for version in list((self.root / VERSIONED_PREFIX).rglob("*")):  # listed first: deleting empties folders
            with contextlib.suppress(FileNotFoundError):
                if version.is_file() and not version.name.startswith(".") and version.stat().st_mtime <= cutoff:
                    deleted += self._delete(version)
        return deleted

    @staticmethod
    def _delete(path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:  # another process pruned it first
            return False
        with contextlib.suppress(OSError):  # its version folder, when now empty (not empty: left)
            path.parent.rmdir()
        return True

    def _create(self, tmp: Path) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        if tmp.parent in self._folders:
            try:
                return os.open(tmp, flags, 0o600)
            except FileNotFoundError:  # the folder was removed since: make it again
                self._folders.discard(tmp.parent)
        _private_dirs(tmp.parent)
        self._folders.add(tmp.parent)
        return os.open(tmp, flags, 0o600)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def read(self, name: str) -> bytes | None:
        path = self._path(name)
        try:
            with disk_faults_as_unavailable():
                return path.read_bytes()
        except FileNotFoundError:
            return None

    def read_head(self, name: str, size: int) -> bytes | None:
        path = self._path(name)
        if size < 1:
            raise ValueError("a head read needs size >= 1")
        try:
            with disk_faults_as_unavailable(), path.open("rb") as file:
                return file.read(size)
        except FileNotFoundError:
            return None

    def signed_url(self, name: str, ttl_seconds: int, download_name: str, now: float | None = None) -> str:
        check_name(name)
        ttl = max(1, min(int(ttl_seconds), MAX_TTL_SECONDS))
        expires = int(time.time() if now is None else now) + ttl
        query = urlencode(
            {"expires": expires, "filename": download_name, "sig": _signature(self._key, name, expires, download_name)}
        )
        return f"{self._base_url}/_files/{quote(name, safe='/')}?{query}"

    def resolve_download(self, name: str, query: Mapping[str, str], now: float | None = None) -> tuple[Path, str]:
        """(path, download file name) of a signed link. PermissionError: bad or expired; FileNotFoundError."""
        expires_text, filename, sig = query.get("expires", ""), query.get("filename", ""), query.get("sig", "")
        if not (expires_text and filename and sig) or not expires_text.isdigit():
            raise PermissionError("missing or malformed signature parameters")
        expires = int(expires_text)
        expected = _signature(self._key, name, expires, filename)
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            raise PermissionError("bad signature")
        if expires < (time.time() if now is None else now):
            raise PermissionError("link expired")
        try:
            path = self._path(name)
        except ValueError as exc:  # cannot be signed by us, but keep the guard
            raise FileNotFoundError(name) from exc
        if not path.is_file():
            raise FileNotFoundError(name)
        return path, filename

    @staticmethod
    def media_type(name: str) -> str:
        """Content type to serve `name` with (CSV exports are UTF-8)."""
        if name.endswith(".csv"):
            return "text/csv; charset=utf-8"
        if name.endswith(".parquet"):  # unknown to mimetypes; the type registered with IANA in 2024
            return "application/vnd.apache.parquet"
        return mimetypes.guess_type(name)[0] or "application/octet-stream"

    def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"file store root is not writable: {self.root}")
