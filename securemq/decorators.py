"""pyzmq's ``zmq.decorators``: ``@context()`` and ``@socket(type)`` hand a function a Context
or Socket that is closed when the function returns.

    @context()
    @socket(zmq.PUSH)
    def work(ctx, push): ...

Both take an optional name first (``@socket("push", zmq.PUSH)`` or ``name="push"``): the object
is then passed as that keyword argument instead of being appended to the positional ones. The
other arguments go to ``Context(...)`` / ``ctx.socket(...)``. ``@socket`` finds its Context at
call time: the keyword argument ``context_name`` (default ``"context"``) if it holds a Context,
else the first positional Context, else ``Context.instance()``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import wraps
from typing import Any, TypeVar, cast

import securemq

F = TypeVar("F", bound=Callable[..., Any])
Factory = Callable[..., AbstractContextManager[Any]]

__all__ = ["context", "socket"]


def _split_name(args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> tuple[str | None, tuple[Any, ...]]:
    """Take the injected argument's name out of the decorator's arguments (``kwargs`` too)."""
    name = kwargs.get("name")
    if isinstance(name, str):
        del kwargs["name"]
        return name, args
    if args and isinstance(args[0], str):
        return args[0], args[1:]
    return None, args


def _decorate(pick_factory: Callable[[tuple[Any, ...], dict[str, Any]], Factory],
              name: str | None, f_args: tuple[Any, ...],
              f_kwargs: dict[str, Any]) -> Callable[[F], F]:
    def decorator(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            factory = pick_factory(args, kwargs)
            with factory(*f_args, **f_kwargs) as obj:
                if name is None:
                    return func(*args, obj, **kwargs)
                if name in kwargs:
                    raise TypeError(
                        f"{func.__name__}() got multiple values for argument '{name}'"
                    )
                return func(*args, **{**kwargs, name: obj})

        return cast(F, wrapper)

    return decorator


def context(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """Give the decorated function a new ``Context(*args, **kwargs)``, destroyed afterwards."""
    options = dict(kwargs)
    name, rest = _split_name(args, options)
    return _decorate(lambda _a, _k: securemq.Context, name, rest, options)


def socket(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """Give the decorated function a new ``ctx.socket(*args, **kwargs)``, closed afterwards."""
    options = dict(kwargs)
    context_name = options.pop("context_name", "context")
    name, rest = _split_name(args, options)

    def pick(call_args: tuple[Any, ...], call_kwargs: dict[str, Any]) -> Factory:
        ctx = call_kwargs.get(context_name)
        if not isinstance(ctx, securemq.Context):
            ctx = next((a for a in call_args if isinstance(a, securemq.Context)), None)
        if ctx is None:
            ctx = securemq.Context.instance()
        return cast(Factory, ctx.socket)

    return _decorate(pick, name, rest, options)
