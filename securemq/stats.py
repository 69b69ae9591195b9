"""Per-socket statistics (``Socket.stats()``) and an optional Prometheus exporter.

The numbers come from where they are already kept: the session's record of connections
(``io/status.py``: connects, disconnects, reconnects, handshake failures by kind, throttled
addresses), the pipes (queue depths per peer), the pipes' traffic counters (messages and bytes
in and out, messages dropped at the high-water mark) and, where the features are on, SEQUENCE's
loss counts and the authorization refusals. Reading them takes no lock the data path holds.

``PrometheusCollector`` turns sockets' stats into Prometheus metric families; it needs
``prometheus_client`` (``pip install 'securemq[metrics]'``), imported only when it is made.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .io.status import ConnectionStatus
from .pipe import Peer


def socket_stats(type_name: str, peers_now: Iterable[Peer], status: ConnectionStatus,
                 routing: Any) -> dict[str, Any]:
    """See ``Socket.stats``: a socket's type, its peers, its session's record of connections
    and its routing strategy (for SEQUENCE and authorization counts)."""
    totals = status.totals()
    peers = []
    queued_in = queued_out = 0
    traffic = {"messages_in": 0, "messages_out": 0, "bytes_in": 0, "bytes_out": 0,
               "dropped_out": 0}
    for peer in list(peers_now):
        depth_in, depth_out = len(peer.inbound), len(peer.outbound)
        queued_in += depth_in
        queued_out += depth_out
        entry: dict[str, Any] = {
            "endpoint": peer.endpoint,
            "routing_id": peer.routing_id,
            "queued_in": depth_in,
            "queued_out": depth_out,
        }
        for name, value in peer_traffic(peer).items():
            entry[name] = value
            traffic[name] += value
        peers.append(entry)
    stats: dict[str, Any] = {
        "type": type_name,
        # Handshaken connections up now, and inproc peers (a connect()'s pipe outlives its
        # connection, so the peers alone would count one that is redialing).
        "connections": status.ready + sum(
            1 for entry in peers if entry["endpoint"].startswith("inproc://")),
        "connects": totals.get("connects", 0),
        "disconnects": totals.get("disconnects", 0),
        "reconnects": totals.get("reconnects", 0),
        "handshake_failures": {
            kind: totals.get(f"handshake_failed_{kind}", 0)
            for kind in ("auth", "protocol", "no_detail")
        },
        "throttled": totals.get("throttled", 0),
        "queued_in": queued_in,
        "queued_out": queued_out,
        **traffic,
        "peers": peers,
    }
    checker = getattr(routing, "checker", None)
    if checker is not None:  # SEQUENCE on a subscriber
        counts = checker.counts()
        stats["lost"] = sum(count.lost for count in counts)
    authz = getattr(routing, "authz", None)
    refused = getattr(authz, "counts", None)
    if refused:
        stats["refused"] = dict(refused)
    return stats


def peer_traffic(peer: Peer) -> dict[str, int]:
    """A peer's traffic counters (the pipes count what passes through them)."""
    inbound, outbound = peer.inbound, peer.outbound
    return {
        "messages_in": inbound.messages,
        "bytes_in": inbound.wire_bytes,
        "messages_out": outbound.messages,
        "bytes_out": outbound.wire_bytes,
        "dropped_out": outbound.dropped,
    }


# -- Prometheus ---------------------------------------------------------------------------------

_COUNTERS = (
    ("messages_in", "Messages received"),
    ("messages_out", "Messages sent"),
    ("bytes_in", "ZMTP bytes received (framing and encryption included)"),
    ("bytes_out", "ZMTP bytes sent (framing and encryption included)"),
    ("dropped_out", "Messages dropped at the high-water mark on the way out"),
    ("connects", "Handshakes completed"),
    ("disconnects", "Connections that ended after their handshake"),
    ("reconnects", "Connections of a connect() made again"),
    ("throttled", "Connections refused by FAILED_AUTH_LIMIT"),
    ("lost", "Messages a SEQUENCE subscriber found missing"),
)
_GAUGES = (
    ("connections", "Connections up now"),
    ("queued_in", "Messages waiting to be received"),
    ("queued_out", "Messages waiting to be sent"),
)


class PrometheusCollector:
    """A ``prometheus_client`` collector for some sockets, each under a name of your choice:
    ``REGISTRY.register(PrometheusCollector({"frontend": front, "backend": back}))``. Metrics are
    ``securemq_<name>`` with labels ``socket`` and ``type``; closed sockets are skipped."""

    def __init__(self, sockets: dict[str, Any]) -> None:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        self._counter = CounterMetricFamily
        self._gauge = GaugeMetricFamily
        self.sockets = dict(sockets)

    def _stats(self) -> Iterable[tuple[str, dict[str, Any]]]:
        for name, sock in list(self.sockets.items()):
            if not sock.closed:
                yield name, sock.stats()

    def collect(self) -> Iterator[Any]:
        collected = list(self._stats())
        labels = ["socket", "type"]
        for key, text in _COUNTERS:
            family = self._counter(f"securemq_{key}", text, labels=labels)
            for name, stats in collected:
                if key in stats:
                    family.add_metric([name, stats["type"]], stats[key])
            yield family
        failures = self._counter("securemq_handshake_failures",
                                 "Handshakes that failed, by kind", labels=[*labels, "kind"])
        for name, stats in collected:
            for kind, value in stats["handshake_failures"].items():
                failures.add_metric([name, stats["type"], kind], value)
        yield failures
        for key, text in _GAUGES:
            gauge = self._gauge(f"securemq_{key}", text, labels=labels)
            for name, stats in collected:
                gauge.add_metric([name, stats["type"]], stats[key])
            yield gauge
