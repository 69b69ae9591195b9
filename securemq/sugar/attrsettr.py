"""``zmq.sugar.attrsettr.AttributeSetter``: options as attributes, for classes with get/set.

A subclass defines ``get(option)`` and ``set(option, value)``; then ``obj.linger = 0`` calls
``set(LINGER, 0)`` and ``obj.linger`` calls ``get(LINGER)``. Attributes the class declares
(or the instance already has) are set normally.
"""

from __future__ import annotations

import errno
from typing import Any

from securemq import ZMQError, constants


def _option(owner: object, key: str) -> tuple[str, int]:
    upper = key.upper()
    value = getattr(constants, upper, None)
    if not isinstance(value, int):
        raise AttributeError(f"{type(owner).__name__} has no such option: {upper}")
    return upper, value


class AttributeSetter:
    def __setattr__(self, key: str, value: Any) -> None:
        if key in self.__dict__ or any(
            key in cls.__dict__ or key in getattr(cls, "__annotations__", {})
            for cls in type(self).__mro__
        ):
            object.__setattr__(self, key, value)
            return
        name, opt = _option(self, key)
        self._set_attr_opt(name, opt, value)

    def __getattr__(self, key: str) -> Any:
        name, opt = _option(self, key)
        try:
            return self._get_attr_opt(name, opt)
        except ZMQError as exc:
            if exc.errno in (errno.EINVAL, errno.EFAULT):  # write-only option
                raise AttributeError(f"{key} attribute is write-only") from None
            raise

    def _set_attr_opt(self, name: str, opt: int, value: Any) -> None:
        """How an option attribute is set; ``set(opt, value)`` unless overridden."""
        self.set(opt, value)

    def _get_attr_opt(self, name: str, opt: int) -> Any:
        """How an option attribute is read; ``get(opt)`` unless overridden."""
        return self.get(opt)

    def get(self, option: int) -> Any:
        raise NotImplementedError("override in subclass")

    def set(self, option: int, value: Any) -> None:
        raise NotImplementedError("override in subclass")


__all__ = ["AttributeSetter"]
