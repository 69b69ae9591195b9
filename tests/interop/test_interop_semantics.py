"""Same scenario, run on libzmq (pyzmq) and on securemq: the observable results must match.

These cover behaviour that never crosses a wire (inproc, local state machines), so the
"interop" is with libzmq's semantics rather than its bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import zmq

import securemq

from .conftest import configure


@pytest.fixture(params=[zmq, securemq], ids=["libzmq", "securemq"])
def impl(request: pytest.FixtureRequest) -> Iterator[tuple[ModuleType, Any]]:
    module: ModuleType = request.param
    ctx = module.Context()
    yield module, ctx
    ctx.destroy(linger=0)


@pytest.mark.parametrize("sender_binds", [False, True], ids=["connecter_sends", "binder_sends"])
def test_inproc_message_survives_sender_close_with_linger_0(
        impl: tuple[ModuleType, Any], sender_binds: bool) -> None:
    """libzmq: a message already sent over inproc is still delivered after the sender closes
    with LINGER 0 (it sits in the receiver's half of the shared pipe)."""
    module, ctx = impl
    binder = configure(ctx.socket(module.PAIR), 1000)
    binder.bind("inproc://linger0")
    connecter = configure(ctx.socket(module.PAIR), 1000)
    connecter.connect("inproc://linger0")
    sender, receiver = (binder, connecter) if sender_binds else (connecter, binder)
    sender.send(b"sent before close")
    sender.close(linger=0)
    assert receiver.recv() == b"sent before close"


def test_req_state_machine(impl: tuple[ModuleType, Any]) -> None:
    module, ctx = impl
    rep = configure(ctx.socket(module.REP), 1000)
    rep.bind("inproc://fsm")
    req = configure(ctx.socket(module.REQ), 1000)
    req.connect("inproc://fsm")
    with pytest.raises(module.ZMQError) as recv_first:
        req.recv()
    assert recv_first.value.errno == zmq.EFSM
    req.send(b"one")
    with pytest.raises(module.ZMQError) as send_twice:
        req.send(b"two")
    assert send_twice.value.errno == zmq.EFSM
    with pytest.raises(module.ZMQError) as rep_send_first:
        rep.send(b"early")
    assert rep_send_first.value.errno == zmq.EFSM
    assert rep.recv() == b"one"
    rep.send(b"reply")
    assert req.recv() == b"reply"


def test_push_without_peer_times_out(impl: tuple[ModuleType, Any]) -> None:
    module, ctx = impl
    push = configure(ctx.socket(module.PUSH), 50)
    push.bind("inproc://nobody")
    with pytest.raises(module.Again):
        push.send(b"x")
    with pytest.raises(module.Again):
        push.send(b"x", module.DONTWAIT)
