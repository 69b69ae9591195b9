"""The one socket-type table (securemq/socket_types.py) against libzmq 4.3.5's own facts:
numbers (include/zmq.h, its draft section), which types may talk to which (src/mechanism.cpp
check_socket_type; names compared exactly), thread safety (socket_base_t's thread_safe flag)
and who may bind / connect over udp:// (src/socket_base.cpp)."""

from __future__ import annotations

import pytest

import securemq
from securemq import socket_types
from securemq.constants import SocketType

PAIRS = {
    ("PAIR", "PAIR"), ("PUB", "SUB"), ("PUB", "XSUB"), ("XPUB", "SUB"), ("XPUB", "XSUB"),
    ("REQ", "REP"), ("REQ", "ROUTER"), ("DEALER", "REP"), ("DEALER", "DEALER"),
    ("DEALER", "ROUTER"), ("ROUTER", "ROUTER"), ("PUSH", "PULL"), ("SERVER", "CLIENT"),
    ("RADIO", "DISH"), ("SCATTER", "GATHER"), ("PEER", "PEER"), ("CHANNEL", "CHANNEL"),
    ("DGRAM", "DGRAM"),
}
NUMBERS = {"PAIR": 0, "PUB": 1, "SUB": 2, "REQ": 3, "REP": 4, "DEALER": 5, "ROUTER": 6,
           "PULL": 7, "PUSH": 8, "XPUB": 9, "XSUB": 10, "STREAM": 11, "SERVER": 12,
           "CLIENT": 13, "RADIO": 14, "DISH": 15, "GATHER": 16, "SCATTER": 17, "DGRAM": 18,
           "PEER": 19, "CHANNEL": 20}


def test_numbers_and_names_match_zmq_h() -> None:
    for name, number in NUMBERS.items():
        assert SocketType[name] == number == getattr(securemq, name)
        assert socket_types.SOCKET_TYPE_NAMES[number] == name.encode()  # what READY announces


def test_pairs_are_exactly_libzmqs() -> None:
    names = [name for name in NUMBERS if name != "STREAM"]
    for ours in names:
        for theirs in names:
            allowed = (ours, theirs) in PAIRS or (theirs, ours) in PAIRS
            assert socket_types.compatible(ours.encode(), theirs.encode()) is allowed, (
                ours, theirs)
    assert not socket_types.compatible(b"server", b"client")  # exact case, as libzmq's memcmp


def test_thread_safe_and_draft_types() -> None:
    assert socket_types.of_kind(thread_safe=True) == {
        SocketType[n] for n in ("SERVER", "CLIENT", "RADIO", "DISH", "GATHER", "SCATTER",
                                "PEER", "CHANNEL")}
    assert SocketType.DGRAM in socket_types.of_kind(draft=True)


@pytest.mark.parametrize("socket_type", list(SocketType))
def test_udp_rules(socket_type: SocketType) -> None:
    facts = socket_types.info(socket_type)
    assert facts.udp_bind is (socket_type in (SocketType.DISH, SocketType.DGRAM))
    assert facts.udp_connect is (socket_type == SocketType.RADIO)
