from __future__ import annotations

import pytest

from stores.file_names import attachment_disposition, check_name


@pytest.mark.parametrize("name", ["a.csv", "11/2024/eco2mix_11_2024-03-31.csv", "_system/x-y.z", "9" * 200])
def test_safe_names_pass(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        "../a",
        "a/../b",
        "a/./b",
        "/abs",
        "a//b",
        "a/",
        "a\\b",
        ".env",
        "a/.x",
        "a b.csv",
        "é.csv",
        "a\n",
        "x" * 1025,
    ],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_name(name)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("eco2mix_11_2024-03.csv", 'attachment; filename="eco2mix_11_2024-03.csv"'),
        ("Île.csv", "attachment; filename=\"_le.csv\"; filename*=UTF-8''%C3%8Ele.csv"),
        ('a"b.csv', "attachment; filename=\"a_b.csv\"; filename*=UTF-8''a%22b.csv"),
        (
            "a\r\nSet-Cookie: x.csv",
            "attachment; filename=\"a__Set-Cookie: x.csv\"; filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x.csv",
        ),
    ],
    ids=["ascii", "non-ascii", "quote", "header-injection"],
)
def test_attachment_disposition(filename: str, expected: str) -> None:
    assert attachment_disposition(filename) == expected
