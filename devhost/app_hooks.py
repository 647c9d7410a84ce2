"""The one hook through which an app adds what is its own to the generic host.

An app subclasses `AppHooks` in a module of its own and devhost loads it by `module:attr`
(`--hooks`, `$DEVHOST_HOOKS`, else the first of DEFAULT_HOOKS importable from the working directory:
`devhost_hooks:hooks` or `localdev.devhost_hooks:hooks`, the latter where local tooling lives beside the app).
Every method has a neutral default, so an app without hooks is served as the Functions host serves it.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

DEFAULT_HOOKS: tuple[str, ...] = ("devhost_hooks:hooks", "localdev.devhost_hooks:hooks")
# (status, title, detail) -> devhost's problem+json response; given to the app's extra routes.
ProblemFactory = Callable[[int, str, str], web.Response]


class AppHooks:
    def problem_type(self, title: str) -> str:
        """The `type` of devhost's own problem+json answers (RFC 9457's default is about:blank)."""
        return "about:blank"

    def setting_default(self, name: str) -> str | None:
        """A value for an app setting absent from the environment (used for %NAME% in trigger fields)."""
        return None

    def add_commands(self, commands: Any) -> None:
        """Add subcommands to the CLI (`commands` is argparse's subparsers object)."""

    def run_command(self, args: argparse.Namespace) -> int | None:
        """Run one of the added subcommands; None when `args.command` is not one of them."""
        return None

    def add_serve_options(self, serve: argparse.ArgumentParser) -> None:
        """Add options to `serve`."""

    def before_serve(self, args: argparse.Namespace, base_url: str) -> list[str]:
        """Prepare the app's environment before it is imported; returns lines to print."""
        return []

    def routes(self, problem: ProblemFactory) -> list[web.RouteDef]:
        """Routes served next to the Durable API, before the app's HTTP triggers."""
        return []


def load_hooks(spec: str | None) -> AppHooks:
    """The app's hooks from `module:attr`; without a spec, the first default module present, else no hooks."""
    if spec is not None:
        return _load(spec)
    for candidate in DEFAULT_HOOKS:
        module_name = candidate.partition(":")[0]
        try:
            return _load(candidate)
        except ModuleNotFoundError as exc:
            # absent (the module or its package), not broken: a missing import inside it is an error
            if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
                raise
    return AppHooks()


def _load(spec: str) -> AppHooks:
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    hooks = getattr(module, attr or "hooks")
    if not isinstance(hooks, AppHooks):
        raise TypeError(f"{module_name}:{attr or 'hooks'} is a {type(hooks).__name__}, not an AppHooks")
    return hooks
