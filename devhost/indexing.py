"""Refuse at start what the real Python worker refuses when it indexes the app, with the worker's message.

Plus the two HTTP checks the .NET host itself makes (route conflicts, reserved `admin`/`runtime` routes).

When the real worker is built (`devhost.real_worker`), its own `Registry.add_indexed_function` judges every
function. Otherwise devhost's own rules below give the same verdict and message; the conformance suite
(tests/conformance/test_indexing_verdicts.py) proves both agree on a table of good and bad apps.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.real_worker import built_worker

_IN, _OUT, _INOUT = 0, 1, 2  # BindingDirection values, as in the worker's BindingInfo


class IndexingError(RuntimeError):
    """The app would not load on the real worker; the message is the worker's."""


def check_app_functions(functions: Sequence[Any], worker_dir: Path | None = None, allow_worker: bool = True) -> str:
    """Raise IndexingError like the worker would; returns which judge ran ("worker" or "devhost")."""
    if allow_worker:
        worker_dir = worker_dir or built_worker()
    judge: Callable[[Sequence[Any]], None] = own_verdict
    name = "devhost"
    if worker_dir is not None:
        judge, name = (lambda fs: worker_verdict(fs, worker_dir)), "worker"
    judge(functions)
    host_route_verdict(functions)
    return name


def host_route_verdict(functions: Sequence[Any]) -> None:
    """The .NET host's own HTTP checks (ScriptHost.ValidateFunction), which the worker does not make.

    In Azure the function is "in error" and the others still load; devhost refuses to start instead.
    """
    seen: list[tuple[str, str, frozenset[str]]] = []
    for function in functions:
        trigger = function.get_trigger()
        if trigger is None or trigger.type != "httpTrigger":
            continue
        name = function.get_function_name()
        route = (trigger.route or name).strip("/")
        if route.lower().startswith(("admin", "runtime")):
            raise IndexingError(
                f"The '{name}' function is in error: The specified route conflicts with one or more built in routes."
            )
        methods = frozenset(str(getattr(m, "value", m)).upper() for m in (trigger.methods or ()))
        for other, other_route, other_methods in seen:
            all_methods = not methods or not other_methods
            if other_route.lower() == route.lower() and (all_methods or methods & other_methods):
                raise IndexingError(
                    f"The '{name}' function is in error: "
                    f"The route specified conflicts with the route defined by function '{other}'."
                )
        seen.append((name, route, methods))


def worker_verdict(functions: Sequence[Any], worker_dir: Path) -> None:
    """The real worker's indexing checks, run in this process on the same Function objects."""
    if str(worker_dir) not in sys.path:
        sys.path.append(str(worker_dir))
    from azure_functions_worker import bindings
    from azure_functions_worker.functions import Registry

    bindings.load_binding_registry()
    registry = Registry()
    for function in functions:
        try:
            registry.add_indexed_function(function)
        except Exception as exc:  # the worker fails the whole index on the first error
            raise IndexingError(str(exc)) from exc


def own_verdict(functions: Sequence[Any]) -> None:
    """devhost's rules, equal in verdict and message to the worker's (proven by the conformance table)."""
    for function in functions:
        message = _judge(function)
        if message is not None:
            raise IndexingError(f"cannot load the {function.get_function_name()} function: {message}")


def _binding_class(binding_type: str) -> Any:
    return func.get_binding_registry().get(binding_type)


def _has_implicit_output(binding_type: str) -> bool:
    cls = _binding_class(binding_type)
    if cls is None:  # the worker's generic binding: every type but durableClient
        return binding_type != "durableClient"
    return bool(getattr(cls, "has_implicit_output", lambda: False)())


def has_return_binding(function: Any) -> bool:
    """Whether the worker keeps what the function returns: an explicit "$return" or an implicit output binding."""
    return any(b.name == "$return" or _has_implicit_output(b.type) for b in function.get_bindings())


def _accepts(binding_type: str, pytype: type, output: bool) -> bool:
    cls = _binding_class(binding_type)
    if cls is None:
        return issubclass(pytype, (str, bytes, bytearray) if output else (str, bytes))
    check = cls.check_output_type_annotation if output else cls.check_input_type_annotation
    return bool(check(pytype))


def _is_generic(tp: Any) -> bool:
    # typing's own generic aliases (List[int], Mapping[...]) count; builtin ones (list[int]) do not.
    alias_types = (getattr(typing, "_GenericAlias"), getattr(typing, "_SpecialGenericAlias"))  # noqa: B009
    if isinstance(tp, type):
        return issubclass(tp, typing.Generic)
    return isinstance(tp, alias_types) and tp.__origin__ not in (typing.Union, tuple, typing.ClassVar, Callable)


def _is_out(tp: Any) -> bool:
    origin = typing.get_origin(tp) if _is_generic(tp) else None
    candidate = origin if origin is not None else tp
    return isinstance(candidate, type) and candidate.__name__ == "Out"


def _judge(function: Any) -> str | None:
    fn = function.get_user_function()
    params = dict(inspect.signature(fn).parameters)
    annotations = typing.get_type_hints(fn)
    bound: dict[str, Any] = {}
    explicit_return = False
    return_binding: str | None = None
    for binding in function.get_bindings():
        if binding.direction == _INOUT:
            return '"inout" bindings are not supported'
        if binding.name == "$return" and binding.direction != _OUT:
            return '"$return" binding must have direction set to "out"'
        # The first "$return" wins; before it, the last binding with an implicit output.
        if not explicit_return and (binding.name == "$return" or _has_implicit_output(binding.type)):
            return_binding = binding.type
        if binding.name == "$return":
            explicit_return = True
        else:
            bound[binding.name] = binding
    if "context" in params and "context" not in bound:
        params.pop("context")
        anno = annotations.get("context")
        if "context" in annotations and (not isinstance(anno, type) or anno.__name__ != "Context"):
            return f'the "context" parameter is expected to be of type azure.functions.Context, got {anno!r}'
    if set(params) - set(bound):
        return f"the following parameters are declared in Python but not in function.json: {set(params) - set(bound)!r}"
    if set(bound) - set(params):
        return f"the following parameters are declared in function.json but not in Python: {set(bound) - set(params)!r}"
    for name in params:
        message = _judge_parameter(name, bound[name], annotations)
        if message is not None:
            return message
    if explicit_return and "return" in annotations:
        return _judge_return(annotations["return"], return_binding or "")
    return None


def _judge_parameter(name: str, binding: Any, annotations: dict[str, Any]) -> str | None:
    if name not in annotations:
        return None
    anno = annotations[name]
    origin = typing.get_origin(anno)
    if origin is not None and not isinstance(origin, type):
        # The worker first asks the extensions base whether this is an SDK type; that test calls issubclass()
        # on the origin, so Optional[...]/Union[...] fail the index with a bare TypeError message.
        raise IndexingError("issubclass() arg 1 must be a class")
    is_out = _is_out(anno)
    pytype = anno
    if is_out:
        args = typing.get_args(anno)
        if len(args) != 1:
            return f"binding {name} has invalid Out annotation {anno!r}"
        pytype = args[0]
    if not isinstance(pytype, type) and not _is_generic(pytype):
        return f"binding {name} has invalid non-type annotation {anno!r}"
    binding_out = binding.direction == _OUT
    if binding_out and not is_out:
        return (
            f'binding {name} is declared to have the "out" direction, but its annotation in Python is not '
            "a subclass of azure.functions.Out"
        )
    if not binding_out and is_out:
        return (
            f'binding {name} is declared to have the "in" direction in function.json, but its annotation '
            "is azure.functions.Out in Python"
        )
    binding_type = binding.type
    if pytype in (str, bytes) and not _has_implicit_output(binding_type):
        binding_type = "generic"
    if _accepts(binding_type, pytype, output=is_out):
        return None
    data_type = getattr(binding, "data_type", None)
    if type(data_type) is not int or data_type != 0:  # an indexed binding's dataType is never the proto's 0
        return (
            f'{name!r} binding type "{binding.type}" and dataType "{data_type}" in function.json do not match '
            f'the corresponding function parameter\'s Python type annotation "{pytype.__name__}"'
        )
    return (
        f'type of {name} binding in function.json "{binding.type}" does not match its Python annotation '
        f'"{pytype.__name__}"'
    )


def _judge_return(anno: Any, return_binding: str) -> str | None:
    if _is_generic(anno) and getattr(typing.get_origin(anno), "__name__", None) == "Out":
        return "return annotation should not be azure.functions.Out"
    if not isinstance(anno, type):
        return f"has invalid non-type return annotation {anno!r}"
    if not _accepts(return_binding, anno, output=True):
        return f'Python return annotation "{anno.__name__}" does not match binding type "{return_binding}"'
    return None
