"""The hook loader: an app's AppHooks by module:attr, the default module when present, else a generic host."""

from __future__ import annotations

import sys
import types

import pytest
from aiohttp import web

from devhost.app_hooks import AppHooks, load_hooks


@pytest.fixture
def hooks_module(monkeypatch: pytest.MonkeyPatch) -> AppHooks:
    module = types.ModuleType("some_app_hooks_for_tests")
    module.hooks = AppHooks()  # type: ignore[attr-defined]
    module.not_hooks = object()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    hooks: AppHooks = module.hooks
    return hooks


def test_hooks_are_loaded_by_name_and_checked(hooks_module: AppHooks) -> None:
    assert load_hooks("some_app_hooks_for_tests:hooks") is hooks_module
    assert load_hooks("some_app_hooks_for_tests") is hooks_module  # attr defaults to `hooks`
    with pytest.raises(TypeError, match="not an AppHooks"):
        load_hooks("some_app_hooks_for_tests:not_hooks")
    with pytest.raises(ModuleNotFoundError):
        load_hooks("no_such_hooks_module:hooks")  # named explicitly: a typo is an error


def test_without_a_hooks_module_the_host_is_generic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devhost.app_hooks.DEFAULT_HOOKS", ("no_such_hooks_module:hooks", "no_such_pkg.hooks:hooks"))
    hooks = load_hooks(None)
    assert type(hooks) is AppHooks
    assert (hooks.problem_type("Not Found"), hooks.setting_default("X")) == ("about:blank", None)
    assert hooks.routes(lambda status, title, detail: web.Response(status=status)) == []
