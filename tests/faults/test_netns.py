"""Two network namespaces joined by a veth pair: cut the link, restore it, the flow comes back.

Needs root (``ip netns add``); skipped with the reason otherwise. The addresses (10.200.N.1/2)
exist only inside the two namespaces this test creates, and both namespaces (with their veth
ends) are deleted in the fixture's teardown, whatever happened.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .helpers import assert_ordered_per_connection, peer_process

STEP_TIMEOUT = 10


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False
    )


def _ip_ok(*args: str) -> None:
    result = _ip(*args)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")


@dataclass
class Hosts:
    ns_a: str
    ns_b: str
    veth_a: str
    veth_b: str
    addr_a: str
    addr_b: str


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    tag = secrets.token_hex(3)
    subnet = 1 + secrets.randbelow(254)
    h = Hosts(f"smq-{tag}-a", f"smq-{tag}-b", f"smq{tag}a", f"smq{tag}b",
              f"10.200.{subnet}.1", f"10.200.{subnet}.2")
    try:
        probe = _ip("netns", "add", h.ns_a)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"network namespaces unavailable: {exc}")
    if probe.returncode != 0:
        pytest.skip(f"network namespaces unavailable (ip netns add: {probe.stderr.strip()})")
    try:
        _ip_ok("netns", "add", h.ns_b)
        _ip_ok("link", "add", h.veth_a, "netns", h.ns_a, "type", "veth",
               "peer", "name", h.veth_b, "netns", h.ns_b)
        for ns, dev, addr in ((h.ns_a, h.veth_a, h.addr_a), (h.ns_b, h.veth_b, h.addr_b)):
            _ip_ok("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            _ip_ok("-n", ns, "link", "set", dev, "up")
            _ip_ok("-n", ns, "link", "set", "lo", "up")
        yield h
    finally:
        for ns in (h.ns_a, h.ns_b):
            _ip("netns", "del", ns)


def _count(lines: list[str], line: str) -> int:
    return sum(1 for seen in lines if seen == line)


def test_link_cut_and_restore_heartbeats_reconnect_no_dups(hosts: Hosts) -> None:
    endpoint = f"tcp://{hosts.addr_a}:5555"
    common = ["--heartbeat", "--monitor"]
    with (
        peer_process(["pull", endpoint, "--bind", *common],
                     prefix=["ip", "netns", "exec", hosts.ns_a]) as pull,
        peer_process(["push", endpoint, *common, "--interval", "0.005"],
                     prefix=["ip", "netns", "exec", hosts.ns_b]) as push,
    ):
        assert pull.expect_line("ready"), pull.stderr()
        assert push.expect_line("event HANDSHAKE_SUCCEEDED"), push.stderr()
        assert pull.expect(lambda _: len(pull.received()) >= 20), pull.stderr()

        _ip_ok("-n", hosts.ns_a, "link", "set", hosts.veth_a, "down")
        try:
            # Both ends hear nothing for HEARTBEAT_TIMEOUT: each drops its connection.
            assert push.expect(lambda s: _count(s, "event DISCONNECTED") >= 1, timeout=5), (
                push.seen[-5:]
            )
            assert pull.expect(lambda s: _count(s, "event DISCONNECTED") >= 1, timeout=5), (
                pull.seen[-5:]
            )
        finally:
            _ip_ok("-n", hosts.ns_a, "link", "set", hosts.veth_a, "up")
        before = max(seq for seq, *_ in pull.received())

        assert push.expect(lambda s: _count(s, "event HANDSHAKE_SUCCEEDED") >= 2, timeout=20), (
            push.seen[-5:]
        )
        assert pull.expect(
            lambda _: max(seq for seq, *_ in pull.received()) >= before + 20, timeout=10
        ), "the flow did not come back after the link was restored"
        connections = _count(push.seen, "event HANDSHAKE_SUCCEEDED")
        received = pull.received()
    seqs = [seq for seq, *_ in received]
    assert all(ok for *_, ok in received)
    assert_ordered_per_connection(seqs, connections)
