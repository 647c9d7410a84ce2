"""File names shared by both file stores: which names are safe, and how a download is named."""

from __future__ import annotations

import re
from urllib.parse import quote

# Names are relative paths of plain segments (e.g. "11/2024/eco2mix_11_2024-01-01.csv"): no "..", no
# absolute paths, no backslashes, so a name can never leave the embedded root or address another blob.
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_NAME = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")


def check_name(name: str) -> str:
    """`name` when it is a safe relative file name; ValueError otherwise."""
    if not isinstance(name, str) or len(name) > 1024 or not _NAME.fullmatch(name):
        raise ValueError(f"invalid file name: {name!r}")
    return name


def attachment_disposition(filename: str) -> str:
    """Content-Disposition for a download: an ASCII filename, plus RFC 6266 filename* when it is not ASCII."""
    ascii_name = filename.encode("ascii", "replace").decode()
    for unsafe in '?"\\\r\n':
        ascii_name = ascii_name.replace(unsafe, "_")
    if ascii_name == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
