"""securemq.utils.jsonapi (bytes in, bytes out, as pyzmq's) and securemq.decorators
(``@context()`` / ``@socket(type)`` hand in objects that are closed afterwards)."""

from __future__ import annotations

from typing import Any

import pytest
import zmq.utils.jsonapi as pyzmq_jsonapi

import securemq as zmq
from securemq.decorators import context, socket
from securemq.utils import jsonapi


# -- jsonapi ------------------------------------------------------------------------------------
@pytest.mark.parametrize("obj", [{"a": [1, 2.5, None, True]}, "héllo ☃", [], 0, {"k": "v"}])
def test_jsonapi_matches_pyzmq(obj: Any) -> None:
    data = jsonapi.dumps(obj)
    assert isinstance(data, bytes)
    assert data == pyzmq_jsonapi.dumps(obj)
    assert jsonapi.loads(data) == obj
    assert jsonapi.loads(data.decode("utf-8")) == obj


def test_jsonapi_keywords_are_passed_to_json() -> None:
    assert jsonapi.dumps({"b": 1, "a": 2}, sort_keys=True) == b'{"a": 2, "b": 1}'
    assert jsonapi.dumps("é", ensure_ascii=False) == '"é"'.encode()
    assert jsonapi.loads(b'{"x": 1.5}', parse_float=str) == {"x": "1.5"}
    assert jsonapi.loads(bytearray(b"[1]")) == [1]
    with pytest.raises(ValueError):
        jsonapi.loads(b"{not json")
    assert jsonapi.jsonmod.loads("1") == 1


# -- decorators ---------------------------------------------------------------------------------
def test_context_decorator_appends_and_destroys() -> None:
    seen: list[zmq.Context] = []

    @context()
    def work(a: int, ctx: zmq.Context) -> int:
        assert isinstance(ctx, zmq.Context) and not ctx.closed
        seen.append(ctx)
        return a * 2

    assert work(21) == 42
    assert work.__name__ == "work"
    assert seen[0].closed


def test_context_decorator_by_name_and_multiple_values() -> None:
    @context("ctx")
    def named(ctx: zmq.Context) -> zmq.Context:
        return ctx

    @context(name="ctx")
    def by_keyword(ctx: zmq.Context) -> zmq.Context:
        return ctx

    assert named().closed and by_keyword().closed
    with pytest.raises(TypeError, match="multiple values for argument 'ctx'"):
        named(ctx=object())


def test_socket_decorator_with_context_argument() -> None:
    made: list[zmq.Socket] = []

    @context()
    @socket(zmq.PUSH)
    def work(ctx: zmq.Context, push: zmq.Socket) -> None:
        assert push.context is ctx and push.socket_type == zmq.PUSH
        made.append(push)

    work()
    assert made[0].closed


def test_socket_decorator_names_and_context_keyword() -> None:
    ctx = zmq.Context()
    try:
        got: dict[str, Any] = {}

        @socket("pull", zmq.PULL, context_name="zctx")
        @socket("push", zmq.PUSH, context_name="zctx")
        def work(zctx: zmq.Context, push: zmq.Socket, pull: zmq.Socket) -> None:
            got.update(push=push, pull=pull)
            assert push.context is zctx
            assert pull.context is zctx
            endpoint = f"inproc://deco-{id(push):x}"
            pull.bind(endpoint)
            push.connect(endpoint)
            push.send(b"through")
            pull.rcvtimeo = 5000
            assert pull.recv() == b"through"

        work(zctx=ctx)
        assert got["push"].closed and got["pull"].closed
    finally:
        ctx.destroy(linger=0)


def test_socket_decorator_options_and_default_instance() -> None:
    @socket(zmq.PUB, linger=0)
    def work(pub: zmq.Socket) -> zmq.Socket:
        assert pub.linger == 0
        return pub

    try:
        pub = work()
        assert pub.closed and pub.context is zmq.Context.instance()
    finally:
        zmq.Context.instance().destroy(linger=0)


def test_socket_closed_when_the_function_raises() -> None:
    made: list[zmq.Socket] = []
    ctx = zmq.Context()
    try:
        @socket(zmq.PAIR)
        def fail(ctx: zmq.Context, pair: zmq.Socket) -> None:
            made.append(pair)
            raise RuntimeError("inside")

        with pytest.raises(RuntimeError, match="inside"):
            fail(ctx)
        assert made[0].closed
    finally:
        ctx.destroy(linger=0)
