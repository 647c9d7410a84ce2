"""The deployment package, built as `azd deploy` builds it: every file under the service folder (azure.yaml's
`project: .`) except what `.funcignore` excludes, gitignore syntax, and `local.settings.json`, which azd always
leaves out. What ships is exactly SHIPPED; no test, benchmark, local host or local tool is in it; and the app
imports and indexes from the package alone (embedded backends, no repository on sys.path).

A new top-level file or folder fails the first test until it is either listed in SHIPPED (it must run in
Azure) or excluded in `.funcignore` (it is local)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pathspec
import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {
    "function_app.py",
    "host.json",
    "requirements.txt",
    "activities",
    "api",
    "core",
    "domain",
    "orchestrations",
    "stores",
}
LOCAL_FOLDERS = {"tests", "bench", "devhost", "localdev", "ops", "docs", "infra", "node_modules"}
LOCAL_MODULES = {"eco2mix_files.py", "gold_import.py", "sample_data.py", "gold_schema.py", "devhost_hooks.py"}
ALWAYS_EXCLUDED = ("local.settings.json",)  # azd, like func, never packages a function app's local settings


def package_files(root: Path) -> list[str]:
    """The package's paths (POSIX, relative to root), walking the tree as azd does: an excluded folder is
    not entered, so nothing under it ships."""
    lines = (root / ".funcignore").read_text(encoding="utf-8").splitlines()
    spec = pathspec.GitIgnoreSpec.from_lines([*lines, *ALWAYS_EXCLUDED])
    files: list[str] = []
    for folder, dirnames, filenames in os.walk(root):
        relative = PurePosixPath(Path(folder).relative_to(root).as_posix())
        dirnames[:] = sorted(d for d in dirnames if not spec.match_file(f"{relative / d}/"))
        files += [str(relative / f) for f in sorted(filenames) if not spec.match_file(str(relative / f))]
    return files


def build_package(root: Path, target: Path) -> list[str]:
    files = package_files(root)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            archive.write(root / name, name)
    return files


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    zip_path = tmp_path_factory.mktemp("package") / "api.zip"
    build_package(REPO, zip_path)
    return zip_path


def names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def test_what_ships_is_exactly_the_app_folders(package: Path) -> None:
    top = {PurePosixPath(name).parts[0] for name in names(package)}
    assert top == SHIPPED, f"not in SHIPPED: {sorted(top - SHIPPED)}; missing: {sorted(SHIPPED - top)}"


def test_no_test_benchmark_or_local_tool_ships(package: Path) -> None:
    local = []
    for name in names(package):
        parts = PurePosixPath(name).parts
        last = parts[-1]
        if (
            LOCAL_FOLDERS & set(parts)
            or last in LOCAL_MODULES
            or last.startswith("test_")
            or last == "conftest.py"
            or last.endswith((".pyc", ".md"))
            or any(part.startswith(".") or part == "__pycache__" for part in parts)
        ):
            local.append(name)
    assert local == []


def test_the_walk_honours_funcignore_as_gitignore_does(tmp_path: Path) -> None:
    """The matcher itself: folders are pruned, patterns match at any depth, `!` re-includes, settings stay out."""
    for path in ("app.py", "keep/a.py", "keep/tests/x.py", "tests/t.py", ".hidden/h.py", "b.log", "c.log"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    (tmp_path / "local.settings.json").write_text("{}")
    (tmp_path / ".funcignore").write_text(".*\ntests/\n*.log\n!c.log\n")
    assert package_files(tmp_path) == ["app.py", "c.log", "keep/a.py"]


def test_the_app_imports_and_indexes_from_the_package_alone(package: Path, tmp_path: Path) -> None:
    """Extracted to a folder of its own and imported there, with the embedded (default) backends: every
    module the app needs is in the package, and none is found in the repository instead."""
    site = tmp_path / "site"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(site)
    probe = (
        "import os, sys\n"
        "import function_app\n"
        "functions = function_app.app.get_functions()\n"
        "here = os.path.realpath(os.getcwd())\n"
        f"first_party = {sorted(SHIPPED | LOCAL_FOLDERS)!r}\n"
        "outside = sorted(name for name, module in list(sys.modules.items())\n"
        "    if name.split('.')[0] in first_party and getattr(module, '__file__', None)\n"
        "    and not os.path.realpath(module.__file__).startswith(here + os.sep))\n"
        "assert not outside, outside\n"
        "print(len(functions))\n"
    )
    # no setting of the test run: the app's defaults are the embedded backends
    env = {"PATH": os.environ.get("PATH", ""), "DATA_DIR": str(tmp_path / "data"), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=site, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip().splitlines()[-1]) > 10  # every blueprint's functions indexed
