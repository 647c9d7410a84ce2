"""The one hook through which an app adds what is its own to the generic host.

An app subclasses `AppHooks` in a module of its own and devhost loads it by `module:attr`
(`--hooks`, `$DEVHOST_HOOKS`, else `devhost_hooks:hooks` when such a module is importable).
Every method has a neutral default, so an app without hooks is served as the Functions host serves it.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

DEFAULT_HOOKS = "devhost_hooks:hooks"
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
    """The app's hooks from `module:attr`; without a spec, the default module if present, else no hooks."""
    module_name, _, attr = (spec or DEFAULT_HOOKS).partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if spec is None and exc.name == module_name:
            return AppHooks()
        raise
    hooks = getattr(module, attr or "hooks")
    if not isinstance(hooks, AppHooks):
        raise TypeError(f"{module_name}:{attr or 'hooks'} is a {type(hooks).__name__}, not an AppHooks")
    return hooks
