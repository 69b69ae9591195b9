"""Rendering peer-chosen text for log lines: no control characters, bounded length.

Anything a peer chooses (PLAIN user names, ZAP domains, metadata, routing ids, socket-type names,
reasons) may hold CR, LF, ESC or bidirectional overrides that forge or hide log lines. ``printable``
turns such a value into one line of text that shows every byte: unprintable characters and the
backslash become escapes (``\\n``, ``\\x1b``, ``\\u202e``), bytes that are not UTF-8 become
``\\xNN``, and a value longer than ``limit`` characters is cut with a marker saying how much was
dropped. Structured records keep the raw values; only rendered text goes through here.
"""

from __future__ import annotations

DEFAULT_LIMIT = 200

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape_char(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    if ch.isprintable():
        return ch
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(
    value: str | bytes | bytearray | memoryview | None, limit: int = DEFAULT_LIMIT
) -> str:
    """``value`` as one escaped line of at most ``limit`` characters (plus a cut marker)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else bytes(value).decode("utf-8", "surrogateescape")
    total = len(text)
    shown = text[:limit] if total > limit else text
    if shown.isprintable() and "\\" not in shown:
        escaped = shown
    else:
        escaped = "".join(_escape_char(ch) for ch in shown)
    if total > limit:
        escaped += f"...[{total - limit} more characters cut]"
    return escaped


def quoted(value: str | bytes | bytearray | memoryview | None, limit: int = DEFAULT_LIMIT) -> str:
    """``printable(value)`` in double quotes, inner quotes escaped: one ``key="value"`` field
    that a peer cannot close early to forge the next field."""
    return '"' + printable(value, limit).replace('"', '\\"') + '"'
