"""Frame: one message part with its MORE flag and the connection's message properties."""

from __future__ import annotations

import builtins
import sys
from typing import TYPE_CHECKING, Any

from .constants import Errno, MessageOption
from .error import ZMQError
from .tracker import FINISHED_TRACKER

_EMPTY: dict[str, bytes] = {}


if TYPE_CHECKING or sys.version_info >= (3, 12):
    class _Payload:
        """Python 3.12+: Frame offers the buffer protocol through ``__buffer__`` (PEP 688)."""

        __slots__ = ()

        def __new__(cls, data: Any = b"", *args: Any, **kwargs: Any) -> Any:
            return super().__new__(cls)
else:
    class _Payload(bytes):
        """Python 3.11: a pure-Python class can offer the buffer protocol only by deriving
        from a type that has it. pyzmq programs hand a Frame to ``numpy.frombuffer``,
        ``memoryview`` or ``hashlib`` as they would bytes, so here the Frame holds its own
        copy of the payload (one copy per ``copy=False`` frame; 3.12+ makes none)."""

        def __new__(cls, data: Any = b"", *args: Any, **kwargs: Any) -> Any:
            if isinstance(data, str):
                raise TypeError("Frame: str is not allowed, encode it first")
            return super().__new__(cls, data)


class Frame(_Payload):
    """pyzmq's zmq.Frame: ``bytes``/``buffer``, ``more``, ``get(property)``.

    Data and attributes live in the instance dict on every Python (a bytes-derived class may
    not have slots), so a Frame is laid out alike on 3.11 and 3.12+.
    """

    _bytes: builtins.bytes
    _properties: dict[str, builtins.bytes]
    more: bool
    tracker: Any
    routing_id: int | None
    group: str | None

    def __init__(
        self,
        data: bytes | bytearray | memoryview | str = b"",
        *,
        more: bool = False,
        properties: dict[str, bytes] | None = None,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> None:
        if isinstance(data, str):
            raise TypeError("Frame: str is not allowed, encode it first")
        self._bytes = bytes(data)
        self.more = more
        self._properties = properties if properties is not None else _EMPTY
        # A copy is made here, so ZeroMQ never needs the caller's buffer: done at once.
        self.tracker: Any = FINISHED_TRACKER if track else None
        # Draft socket types: the peer's routing id (SERVER, PEER) and the group (RADIO/DISH).
        self.routing_id = routing_id
        self.group = group

    @property
    def bytes(self) -> bytes:
        return self._bytes

    @property
    def buffer(self) -> memoryview:
        return memoryview(self._bytes)

    def __bytes__(self) -> builtins.bytes:
        return self._bytes

    def __buffer__(self, flags: int) -> memoryview:
        """The buffer protocol (Python 3.12+, PEP 688): ``memoryview(frame)``,
        ``numpy.frombuffer(frame)`` without a copy (on 3.11 the Frame's own bytes serve)."""
        return memoryview(self._bytes)

    def __len__(self) -> int:
        return len(self._bytes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frame):
            return self._bytes == other._bytes
        if isinstance(other, bytes | bytearray | memoryview):
            return self._bytes == bytes(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        return f"<securemq.Frame({self._bytes[:32]!r}{'...' if len(self._bytes) > 32 else ''})>"

    def __str__(self) -> str:  # (as pyzmq: the repr, not the bytes' str on 3.11)
        return self.__repr__()

    def get(self, option: int | str) -> Any:
        """A message property by name (str), or MORE by option number, like pyzmq."""
        if isinstance(option, int):
            if option == MessageOption.MORE:
                return int(self.more)
            raise ZMQError(Errno.EINVAL, f"Frame.get({option}): unsupported option")
        folded = option.lower()
        for key, value in self._properties.items():
            if key.lower() == folded:
                return value.decode("utf-8", "replace")
        raise ZMQError(Errno.EINVAL, f"Frame.get({option!r}): no such message property")

    def __getitem__(self, key: int | str) -> Any:
        return self.get(key)


Message = Frame
