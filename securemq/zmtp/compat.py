"""Transitional alias of the socket-type table's names and compatibility (see socket_types)."""

from __future__ import annotations

from ..socket_types import SOCKET_TYPE_NAMES, compatible

__all__ = ["SOCKET_TYPE_NAMES", "compatible"]
