"""ZwsConnection + securemq's ZmtpConnection over a plain Python socket against libzmq 4.3.5's
ws:// (the DRAFT oracle): both roles, NULL / PLAIN / CURVE, heartbeats, subscriptions, close.

Skipped unless zmq.DRAFT_API and zmq.has("WS"); see tests/interop/draft_driver.py for how to run.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from securemq import z85
from securemq.constants import ProtocolError, SocketType
from securemq.zmtp.connection import ConnectionState, ZmtpConnection
from securemq.zmtp.errors import PeerClosed
from securemq.zmtp.events import (
    ConnectionFailed,
    HandshakeComplete,
    PingReceived,
    ZapRequestNeeded,
)
from securemq.zmtp.mechanisms.base import Mechanism, ZapReplyData, ZapSettings
from securemq.zmtp.mechanisms.curve import CurveMechanism
from securemq.zmtp.mechanisms.null import NullMechanism
from securemq.zmtp.mechanisms.plain import PlainMechanism
from securemq.zmtp.radio_dish_connection import RadioDishConnection
from securemq.zmtp.zws import ZwsConnection
from tests.interop.draft_driver import (
    DRAFT_SKIP_REASON,
    HAS_DRAFTS,
    Wire,
    accept,
    has,
    listener,
    oracle,
    port_of,
    received,
)

if not HAS_DRAFTS or not zmq.has("WS"):
    pytest.skip(DRAFT_SKIP_REASON + " (and ws:// support)", allow_module_level=True)

ST = SocketType
SERVER_PUB, SERVER_SEC = zmq.curve_keypair()
CLIENT_PUB, CLIENT_SEC = zmq.curve_keypair()


@pytest.fixture
def ctx() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    yield context
    context.destroy(linger=0)


def props(socket_type: int, routing_id: bytes = b"") -> dict[str, bytes]:
    return ZmtpConnection.local_properties(socket_type, routing_id)


def null(socket_type: int, *, server: bool = False, routing_id: bytes = b"") -> Mechanism:
    return NullMechanism(as_server=server, properties=props(socket_type, routing_id))


def curve(socket_type: int, *, server: bool, routing_id: bytes = b"") -> Mechanism:
    if server:
        return CurveMechanism(as_server=True, properties=props(socket_type, routing_id),
                              public_key=SERVER_PUB, secret_key=SERVER_SEC)
    return CurveMechanism(as_server=False, properties=props(socket_type, routing_id),
                          public_key=CLIENT_PUB, secret_key=CLIENT_SEC, server_key=SERVER_PUB)


def dial(sock: Any, conn_type: int, mechanism: Mechanism, **kwargs: Any) -> Wire:
    """Bind the oracle socket on ws:// and connect a ZwsConnection client to it."""
    sock.bind("ws://127.0.0.1:*")
    raw = socket.create_connection(("127.0.0.1", port_of(sock.last_endpoint)))
    conn = ZwsConnection(client=True, socket_type=conn_type, mechanism=mechanism,
                         host="127.0.0.1", **kwargs)
    return Wire(raw, conn)


def ready(wire: Wire) -> HandshakeComplete:
    events = wire.pump(has(HandshakeComplete))
    return next(e for e in events if isinstance(e, HandshakeComplete))


# -- our client, libzmq's server -------------------------------------------------------------
def test_pair_null_client(ctx: zmq.Context[Any]) -> None:
    peer = oracle(ctx, zmq.PAIR)
    wire = dial(peer, ST.PAIR, null(ST.PAIR))
    done = ready(wire)
    assert done.peer_properties["Socket-Type"] == b"PAIR"
    assert wire.conn.subprotocol == "ZWS2.0/NULL"
    big = bytes(range(256)) * 400
    wire.conn.send_messages([[b"over-ws"], [b"m1", b"m2"], [big], [b""]])
    wire.flush()
    assert peer.recv() == b"over-ws"
    assert peer.recv_multipart() == [b"m1", b"m2"]
    assert peer.recv() == big and peer.recv() == b""
    peer.send_multipart([b"a", b"b"])
    peer.send(big)
    assert wire.messages(2) == [[b"a", b"b"], [big]]


def test_dealer_client_to_router_carries_the_identity(ctx: zmq.Context[Any]) -> None:
    router = oracle(ctx, zmq.ROUTER)
    wire = dial(router, ST.DEALER, null(ST.DEALER, routing_id=b"W1"))
    ready(wire)
    wire.conn.send_messages([[b"", b"req"]])
    wire.flush()
    assert router.recv_multipart() == [b"W1", b"", b"req"]
    router.send_multipart([b"W1", b"", b"rep"])
    assert wire.messages(1) == [[b"", b"rep"]]


def test_curve_client(ctx: zmq.Context[Any]) -> None:
    router = oracle(ctx, zmq.ROUTER)
    router.curve_server = True
    router.curve_secretkey = SERVER_SEC
    wire = dial(router, ST.DEALER, curve(ST.DEALER, server=False, routing_id=b"C1"))
    ready(wire)
    assert wire.conn.subprotocol == "ZWS2.0/CURVE"
    wire.conn.send_messages([[b"", b"secret"], [b"x" * 100000]])
    wire.flush()
    assert router.recv_multipart() == [b"C1", b"", b"secret"]
    assert router.recv_multipart() == [b"C1", b"x" * 100000]
    router.send_multipart([b"C1", b"back", b"x" * 300])
    assert wire.messages(1) == [[b"back", b"x" * 300]]


def test_curve_client_with_a_wrong_server_key_fails(ctx: zmq.Context[Any]) -> None:
    router = oracle(ctx, zmq.ROUTER)
    router.curve_server = True
    router.curve_secretkey = SERVER_SEC
    other_pub, _ = zmq.curve_keypair()
    mechanism = CurveMechanism(as_server=False, properties=props(ST.DEALER),
                               public_key=CLIENT_PUB, secret_key=CLIENT_SEC,
                               server_key=other_pub)
    wire = dial(router, ST.DEALER, mechanism)
    events = wire.pump(has(ConnectionFailed), allow_failure=True)
    assert not any(isinstance(e, HandshakeComplete) for e in events)


def test_plain_client_through_libzmq_zap(ctx: zmq.Context[Any]) -> None:
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"admin": "secret"})
        rep = oracle(ctx, zmq.REP)
        rep.plain_server = True
        mechanism = PlainMechanism(as_server=False, properties=props(ST.REQ),
                                   username=b"admin", password=b"secret")
        wire = dial(rep, ST.REQ, mechanism)
        ready(wire)
        assert wire.conn.subprotocol == "ZWS2.0/PLAIN"
        wire.conn.send_messages([[b"", b"hello"]])
        wire.flush()
        assert rep.recv() == b"hello"
        rep.send(b"world")
        assert wire.messages(1) == [[b"", b"world"]]
    finally:
        auth.stop()


def test_sub_client_subscribes_in_the_legacy_form(ctx: zmq.Context[Any]) -> None:
    pub = oracle(ctx, zmq.PUB)
    wire = dial(pub, ST.SUB, null(ST.SUB))
    ready(wire)
    wire.conn.send_messages([[b"\x01news"]])
    wire.flush()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not received(wire.events):
        pub.send_multipart([b"sport", b"no"])
        pub.send_multipart([b"news", b"yes"])
        wire.settle(0.1)
    assert received(wire.events)[0] == [b"news", b"yes"]
    assert all(m[0] == b"news" for m in received(wire.events))


def test_libzmq_websocket_pings_are_answered(ctx: zmq.Context[Any]) -> None:
    pair = oracle(ctx, zmq.PAIR)
    pair.heartbeat_ivl = 100
    pair.heartbeat_timeout = 300
    wire = dial(pair, ST.PAIR, null(ST.PAIR))
    ready(wire)
    wire.pump(lambda events: sum(isinstance(e, PingReceived) for e in events) >= 3)
    pair.send(b"still connected")  # our pongs kept the connection up past the timeout
    assert wire.messages(1) == [[b"still connected"]]
    wire.conn.send_ping(0, b"hb")  # libzmq answers with an (empty) pong
    wire.flush()
    pair.send(b"after ping")
    assert wire.messages(2)[-1] == [b"after ping"]


def test_our_close_is_echoed_then_closed(ctx: zmq.Context[Any]) -> None:
    pair = oracle(ctx, zmq.PAIR)
    wire = dial(pair, ST.PAIR, null(ST.PAIR))
    ready(wire)
    wire.conn.close()
    wire.flush()
    wire.sock.settimeout(5)
    echoed = wire.sock.recv(100)
    assert echoed[:1] == b"\x88"  # libzmq echoes the close frame (unmasked, server side)
    assert wire.conn.state is ConnectionState.CLOSED


def test_libzmq_refuses_a_mechanism_it_does_not_run(ctx: zmq.Context[Any]) -> None:
    pair = oracle(ctx, zmq.PAIR)  # a NULL server
    wire = dial(pair, ST.PAIR, curve(ST.PAIR, server=False))
    events = wire.pump(has(ConnectionFailed), allow_failure=True)
    failure = next(e for e in events if isinstance(e, ConnectionFailed))
    assert failure.during_handshake


def test_client_server_draft_types_over_ws(ctx: zmq.Context[Any]) -> None:
    server = oracle(ctx, zmq.SERVER)
    wire = dial(server, ST.CLIENT, null(ST.CLIENT))
    assert ready(wire).peer_properties["Socket-Type"] == b"SERVER"
    wire.conn.send_messages([[b"ping"]])
    wire.flush()
    frame = server.recv(copy=False)
    assert frame.bytes == b"ping"
    server.send(b"pong", routing_id=frame.routing_id)
    assert wire.messages(1) == [[b"pong"]]


# -- libzmq's client, our server -------------------------------------------------------------
def serve(ctx: zmq.Context[Any], kind: int, conn_type: int, mechanism: Mechanism,
          configure: Any = None, path: str = "/", **kwargs: Any) -> tuple[Any, Wire]:
    lst = listener()
    peer = oracle(ctx, kind)
    if configure is not None:
        configure(peer)
    peer.connect(f"ws://127.0.0.1:{lst.getsockname()[1]}{path}")
    raw = accept(lst)
    lst.close()
    conn = ZwsConnection(client=False, socket_type=conn_type, mechanism=mechanism, **kwargs)
    return peer, Wire(raw, conn)


def test_router_server_for_a_libzmq_dealer(ctx: zmq.Context[Any]) -> None:
    def configure(dealer: Any) -> None:
        dealer.routing_id = b"D1"

    dealer, wire = serve(ctx, zmq.DEALER, ST.ROUTER, null(ST.ROUTER, server=True),
                         configure, path="/any/path")
    dealer.send_multipart([b"", b"req"])
    done = ready(wire)
    assert done.peer_properties["Identity"] == b"D1"
    assert wire.conn.subprotocol == "ZWS2.0/NULL"  # libzmq offers /NULL first, then bare
    assert wire.messages(1) == [[b"", b"req"]]
    wire.conn.send_messages([[b"", b"rep"], [b"x" * 200000]])
    wire.flush()
    assert dealer.recv_multipart() == [b"", b"rep"]
    assert dealer.recv() == b"x" * 200000


def test_curve_server_for_a_libzmq_client(ctx: zmq.Context[Any]) -> None:
    def configure(req: Any) -> None:
        req.curve_serverkey = SERVER_PUB
        req.curve_publickey = CLIENT_PUB
        req.curve_secretkey = CLIENT_SEC

    req, wire = serve(ctx, zmq.REQ, ST.REP, curve(ST.REP, server=True), configure)
    req.send(b"secure")
    ready(wire)
    assert wire.conn.subprotocol == "ZWS2.0/CURVE"
    assert wire.messages(1) == [[b"", b"secure"]]
    assert wire.conn.zmtp.mechanism.client_key == z85.decode(CLIENT_PUB)
    wire.conn.send_messages([[b"", b"reply"]])
    wire.flush()
    assert req.recv() == b"reply"


def test_plain_server_asks_zap(ctx: zmq.Context[Any]) -> None:
    def configure(dealer: Any) -> None:
        dealer.plain_username = b"admin"
        dealer.plain_password = b"secret"

    mechanism = PlainMechanism(as_server=True, properties=props(ST.DEALER),
                               zap=ZapSettings(handler_present=True))
    asked: list[ZapRequestNeeded] = []

    def zap(request: ZapRequestNeeded) -> ZapReplyData:
        asked.append(request)
        return ZapReplyData(b"200", b"OK", b"admin", {})

    lst = listener()
    dealer = oracle(ctx, zmq.DEALER)
    configure(dealer)
    dealer.connect(f"ws://127.0.0.1:{lst.getsockname()[1]}")
    wire = Wire(accept(lst), ZwsConnection(client=False, socket_type=ST.DEALER,
                                           mechanism=mechanism), zap=zap)
    lst.close()
    dealer.send(b"authenticated")
    done = ready(wire)
    assert asked[0].mechanism == b"PLAIN" and asked[0].credentials == [b"admin", b"secret"]
    assert done.user_id == b"admin"
    assert wire.messages(1) == [[b"authenticated"]]


def test_xpub_server_sees_libzmq_subscriptions(ctx: zmq.Context[Any]) -> None:
    def configure(sub: Any) -> None:
        sub.setsockopt(zmq.SUBSCRIBE, b"topic")

    _, wire = serve(ctx, zmq.SUB, ST.XPUB, null(ST.XPUB, server=True), configure)
    ready(wire)
    assert wire.messages(1) == [[b"\x01topic"]]  # libzmq's ws: the legacy data form


def test_server_refuses_a_libzmq_client_with_another_mechanism(ctx: zmq.Context[Any]) -> None:
    def configure(req: Any) -> None:
        req.curve_serverkey = SERVER_PUB
        req.curve_publickey = CLIENT_PUB
        req.curve_secretkey = CLIENT_SEC

    _, wire = serve(ctx, zmq.REQ, ST.REP, null(ST.REP, server=True), configure)
    events = wire.pump(has(ConnectionFailed), allow_failure=True)
    failure = next(e for e in events if isinstance(e, ConnectionFailed))
    assert failure.error.value == 0x30000000  # ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED


def test_libzmq_disconnect_is_peer_closed(ctx: zmq.Context[Any]) -> None:
    pair, wire = serve(ctx, zmq.PAIR, ST.PAIR, null(ST.PAIR, server=True))
    ready(wire)
    pair.close()
    events = wire.pump(has(ConnectionFailed), allow_failure=True)
    failure = next(e for e in events if isinstance(e, ConnectionFailed))
    assert isinstance(failure.error, PeerClosed)


def test_incompatible_types_are_refused(ctx: zmq.Context[Any]) -> None:
    """Both sides check Socket-Type; whoever sees the other's READY first hangs up."""
    _, wire = serve(ctx, zmq.PUSH, ST.PUB, null(ST.PUB, server=True))
    events = wire.pump(has(ConnectionFailed), allow_failure=True)
    failure = next(e for e in events if isinstance(e, ConnectionFailed))
    assert failure.during_handshake and not any(isinstance(e, HandshakeComplete) for e in events)
    assert isinstance(failure.error, PeerClosed) or (
        failure.error.value == ProtocolError.ZMTP_INVALID_METADATA
    )


def test_libzmq_dish_joins_our_radio_over_ws(ctx: zmq.Context[Any]) -> None:
    lst = listener()
    dish = oracle(ctx, zmq.DISH)
    dish.join(b"TV")
    dish.connect(f"ws://127.0.0.1:{lst.getsockname()[1]}")
    conn = ZwsConnection(client=False, socket_type=ST.RADIO,
                         mechanism=null(ST.RADIO, server=True),
                         connection_class=RadioDishConnection)
    wire = Wire(accept(lst), conn)
    lst.close()
    assert wire.messages(1) == [[b"\x04JOINTV"]]  # a JOIN command message (flags 0x02)
    conn.send_messages([[b"News", b"no"], [b"TV", b"Friends"]])
    wire.flush()
    frame = dish.recv(copy=False)
    assert (frame.group, frame.bytes) == ("TV", b"Friends")
