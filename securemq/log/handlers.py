"""PUBHandler: a ``logging`` handler that publishes records on a PUB socket; TopicLogger.

Each record goes out as two frames: the topic, then the formatted text (UTF-8). The topic is
``root_topic.LEVELNAME``, plus a sub-topic when the message starts with ``"sub.topic::"``
(that prefix is cut from the text). Subscribers filter on the topic's prefix::

    handler = PUBHandler("tcp://127.0.0.1:5555", root_topic="app")
    logging.getLogger().addHandler(handler)
    logging.getLogger().warning("db.pool::connection lost")   # topic b"app.WARNING.db.pool"

The handler can also take a socket you made (``PUBHandler(sock)``; it is then not bound
again), which also works from ``logging.config.dictConfig`` (``interface_or_socket``).
"""

from __future__ import annotations

import logging
from copy import copy
from typing import Any, Final

import securemq

__all__ = ["TOPIC_DELIM", "PUBHandler", "TopicLogger"]

TOPIC_DELIM: Final = "::"

_DETAILED = "%(levelname)s %(filename)s:%(lineno)d - %(message)s\n"


def _default_formatters() -> dict[int, logging.Formatter | None]:
    return {
        logging.DEBUG: logging.Formatter(_DETAILED),
        logging.INFO: logging.Formatter("%(message)s\n"),
        logging.WARNING: logging.Formatter(_DETAILED),
        logging.ERROR: logging.Formatter(
            "%(levelname)s %(filename)s:%(lineno)d - %(message)s - %(exc_info)s\n"
        ),
        logging.CRITICAL: logging.Formatter(_DETAILED),
    }


class PUBHandler(logging.Handler):
    """Publish log records on a PUB socket: ``interface_or_socket`` is a socket, or an
    endpoint string that a new PUB socket (of ``context``, else a new Context) binds."""

    formatters: dict[int, logging.Formatter | None]
    ctx: securemq.Context
    socket: securemq.Socket

    def __init__(self, interface_or_socket: str | securemq.Socket,
                 context: securemq.Context | None = None, root_topic: str = "") -> None:
        logging.Handler.__init__(self)
        self.root_topic = root_topic
        self.formatters = _default_formatters()
        if isinstance(interface_or_socket, securemq.Socket):
            self.socket = interface_or_socket
            self.ctx = self.socket.context
        else:
            self.ctx = context or securemq.Context()
            self.socket = self.ctx.socket(securemq.PUB)
            self.socket.bind(interface_or_socket)

    @property
    def root_topic(self) -> str:
        return self._root_topic

    @root_topic.setter
    def root_topic(self, value: str | bytes) -> None:
        self.setRootTopic(value)

    def setRootTopic(self, root_topic: str | bytes) -> None:
        """The first part of every topic ('' by default: topics then start with the level
        name). Subscribers must subscribe to a prefix of it to get anything."""
        if isinstance(root_topic, bytes):
            root_topic = root_topic.decode("utf8")
        self._root_topic = root_topic

    def setFormatter(self, fmt: logging.Formatter | None, level: int = logging.NOTSET) -> None:
        """Use ``fmt`` for records of ``level``; without a level, for every level."""
        if level == logging.NOTSET:
            for known in self.formatters:
                self.formatters[known] = fmt
        else:
            self.formatters[level] = fmt

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` with the formatter of its level."""
        formatter = self.formatters[record.levelno]
        if formatter is None:
            raise ValueError(f"PUBHandler: no formatter for level {record.levelname}")
        return formatter.format(record)

    def emit(self, record: logging.LogRecord) -> None:
        """Publish ``[topic, text]``; a record that cannot be formatted goes to handleError."""
        topic, sep, rest = str(record.msg).partition(TOPIC_DELIM)
        if sep:
            record = copy(record)  # the caller's record is shared with other handlers
            record.msg = rest
        else:
            topic = ""
        try:
            text = self.format(record).encode("utf8")
        except Exception:
            self.handleError(record)
            return
        parts = [p for p in (self.root_topic, record.levelname, topic) if p]
        self.socket.send_multipart([".".join(parts).encode("utf8", "replace"), text])


class TopicLogger(logging.Logger):
    """A Logger whose methods take a topic before the message: ``log.info("db", "ready")``
    logs ``"db::ready"``, which PUBHandler publishes under the sub-topic ``db``."""

    def _topic_log(self, level: int, topic: str, msg: str, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> None:
        # One more frame than Logger's own methods, so records name the caller's line.
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2
        logging.Logger.log(self, level, f"{topic}{TOPIC_DELIM}{msg}", *args, **kwargs)

    def log(self, level: int, topic: str, msg: str,  # type: ignore[override]
            *args: Any, **kwargs: Any) -> None:
        """Log ``msg % args`` at ``level`` under ``topic``."""
        self._topic_log(level, topic, msg, args, kwargs)

    def debug(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.DEBUG, topic, msg, args, kwargs)

    def info(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.INFO, topic, msg, args, kwargs)

    def warning(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.WARNING, topic, msg, args, kwargs)

    warn = warning  # type: ignore[assignment]

    def error(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.ERROR, topic, msg, args, kwargs)

    def exception(self, topic: str, msg: str, *args: Any,  # type: ignore[override]
                  exc_info: Any = True, **kwargs: Any) -> None:
        self._topic_log(logging.ERROR, topic, msg, args, {**kwargs, "exc_info": exc_info})

    def critical(self, topic: str, msg: str, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._topic_log(logging.CRITICAL, topic, msg, args, kwargs)

    fatal = critical  # type: ignore[assignment]
