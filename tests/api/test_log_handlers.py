"""securemq.log: PUBHandler publishes [topic, text] per record (root topic, level, sub-topic),
with per-level formatters; TopicLogger adds topics; ``python -m securemq.log`` watches.

Most tests hand the handler an XPUB socket: its first received message is the subscriber's
subscription, so the test knows the subscriber is attached before it logs (no settling time).
"""

from __future__ import annotations

import logging
import logging.config
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import securemq as zmq
from securemq.log.handlers import TOPIC_DELIM, PUBHandler, TopicLogger

from .conftest import MakeSocket


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    log = logging.getLogger(f"securemq-test.{request.node.name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


def attached(make: MakeSocket, topic: bytes = b"") -> tuple[zmq.Socket, zmq.Socket]:
    """An XPUB for the handler and a SUB subscribed to ``topic``, known to be attached."""
    pub = make(zmq.XPUB)
    endpoint = f"inproc://log-{id(pub):x}"
    pub.bind(endpoint)
    sub = make(zmq.SUB)
    sub.subscribe(topic)
    sub.connect(endpoint)
    assert pub.recv() == b"\x01" + topic
    return pub, sub


def test_topics_levels_and_default_formats(make: MakeSocket, logger: logging.Logger) -> None:
    pub, sub = attached(make)
    handler = PUBHandler(pub)
    assert handler.socket is pub and handler.ctx is pub.context
    logger.addHandler(handler)
    logger.info("plain info")
    logger.debug("details")
    logger.warning("db.pool::lost %d connections", 3)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    logger.critical("down")
    got = [sub.recv_multipart() for _ in range(5)]
    topics = [t for t, _ in got]
    texts = [m.decode() for _, m in got]
    assert topics == [b"INFO", b"DEBUG", b"WARNING.db.pool", b"ERROR", b"CRITICAL"]
    assert texts[0] == "plain info\n"
    assert texts[1].startswith("DEBUG test_log_handlers.py:") and texts[1].endswith(
        " - details\n")
    assert texts[2].endswith(" - lost 3 connections\n")  # the sub-topic is cut from the text
    assert texts[3].startswith("ERROR ") and "failed - " in texts[3] and "boom" in texts[3]
    assert texts[4].startswith("CRITICAL ")


def test_root_topic_and_subscription_prefix(make: MakeSocket, logger: logging.Logger) -> None:
    pub, sub = attached(make, b"app.ERROR")
    handler = PUBHandler(pub, root_topic="app")
    assert handler.root_topic == "app"
    logger.addHandler(handler)
    logger.info("filtered out")
    logger.error("kept")
    handler.root_topic = b"svc"  # type: ignore[assignment]
    assert handler.root_topic == "svc"
    handler.setRootTopic("app")
    logger.error("io::kept too")
    first, second = sub.recv_multipart(), sub.recv_multipart()
    assert first[0] == b"app.ERROR" and first[1].endswith(b" - kept - None\n")
    assert second[0] == b"app.ERROR.io" and second[1].endswith(b" - kept too - None\n")
    assert not sub.poll(0)


def test_sub_topic_does_not_change_the_callers_record(make: MakeSocket,
                                                      logger: logging.Logger) -> None:
    pub, sub = attached(make)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger.addHandler(PUBHandler(pub))
    logger.addHandler(Keep())
    logger.info("topic::text")
    assert sub.recv_multipart() == [b"INFO.topic", b"text\n"]
    assert seen[0].msg == "topic::text"


def test_set_formatter_for_all_or_one_level(make: MakeSocket, logger: logging.Logger) -> None:
    pub, sub = attached(make)
    handler = PUBHandler(pub)
    logger.addHandler(handler)
    handler.setFormatter(logging.Formatter("all:%(message)s"))
    handler.setFormatter(logging.Formatter("warn:%(message)s"), logging.WARNING)
    logger.debug("d")
    logger.warning("w")
    assert sub.recv_multipart() == [b"DEBUG", b"all:d"]
    assert sub.recv_multipart() == [b"WARNING", b"warn:w"]


def test_unformattable_record_goes_to_handle_error(make: MakeSocket,
                                                   logger: logging.Logger) -> None:
    pub, sub = attached(make)
    errors: list[logging.LogRecord] = []

    class Recording(PUBHandler):
        def handleError(self, record: logging.LogRecord) -> None:
            errors.append(record)

    logger.addHandler(Recording(pub))
    logger.log(25, "custom level, no formatter")
    assert [r.levelno for r in errors] == [25]
    logger.info("after")
    assert sub.recv_multipart() == [b"INFO", b"after\n"]


def test_endpoint_string_binds_a_new_pub(ctx: zmq.Context, make: MakeSocket,
                                         logger: logging.Logger) -> None:
    endpoint = f"inproc://log-bind-{id(logger):x}"
    handler = PUBHandler(endpoint, context=ctx)
    assert handler.ctx is ctx and handler.socket.socket_type == zmq.PUB
    handler.socket.linger = 0
    logger.addHandler(handler)
    sub = make(zmq.SUB)
    sub.subscribe(b"")
    sub.connect(endpoint)
    deadline = time.monotonic() + 5
    while not sub.poll(50) and time.monotonic() < deadline:
        logger.info("probe")  # PUB drops until the subscription has arrived
    assert sub.recv_multipart() == [b"INFO", b"probe\n"]


def test_dict_config_handler_with_a_socket(make: MakeSocket, logger: logging.Logger) -> None:
    """What ``dictConfig`` does with a handler entry (keyword construction, level), without
    reconfiguring the process's logging."""
    pub, sub = attached(make)
    configurator = logging.config.DictConfigurator({"version": 1})
    handler = configurator.configure_handler({
        "class": "securemq.log.handlers.PUBHandler", "level": logging.INFO,
        "root_topic": "cfg", "interface_or_socket": pub,
    })
    assert isinstance(handler, PUBHandler)
    logger.addHandler(handler)
    logger.debug("below the handler's level")
    logger.info("configured")
    assert sub.recv_multipart() == [b"cfg.INFO", b"configured\n"]


def test_topic_logger(make: MakeSocket) -> None:
    pub, sub = attached(make)
    log = TopicLogger("securemq-test.topics")
    log.setLevel(logging.DEBUG)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log.addHandler(PUBHandler(pub))
    log.addHandler(Keep())
    log.info("svc.start", "ready in %d ms", 12)
    log.log(logging.WARNING, "svc", "slow")
    try:
        raise KeyError("k")
    except KeyError:
        log.exception("svc.fail", "oops")
    log.debug("a", "b")
    log.error("e", "f")
    log.critical("c", "d")
    log.warning("w", "x")
    got = [sub.recv_multipart() for _ in range(7)]
    assert [t for t, _ in got] == [b"INFO.svc.start", b"WARNING.svc", b"ERROR.svc.fail",
                                   b"DEBUG.a", b"ERROR.e", b"CRITICAL.c", b"WARNING.w"]
    assert got[0][1] == b"ready in 12 ms\n"
    assert records[2].exc_info is not None
    assert records[0].msg == "svc.start" + TOPIC_DELIM + "ready in %d ms"
    # Records name the caller's line, not the logger's wrapper.
    assert {os.path.basename(r.pathname) for r in records} == {"test_log_handlers.py"}


def test_log_watcher_prints_published_records(make: MakeSocket, logger: logging.Logger) -> None:
    pub = make(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    logger.addHandler(PUBHandler(pub, root_topic="watch"))
    watcher = subprocess.Popen(
        [sys.executable, "-m", "securemq.log", f"tcp://127.0.0.1:{port}", "--topic", "watch"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert watcher.stdout is not None
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and not line:
            logger.info("hello watcher")
            ready, _, _ = select.select([watcher.stdout], [], [], 0.1)
            if ready:
                line = watcher.stdout.readline()
        assert line == "watch.INFO | hello watcher\n"
    finally:
        watcher.kill()
        watcher.communicate(timeout=10)
