"""Names securemq reserves for authorization rules (``Securemq-*``) come from ZAP only.

``message_properties`` is where a connection's properties are put together: a peer's own READY /
INITIATE metadata may not carry a reserved name, whatever its spelling, whether or not a ZAP
handler decided; the ZAP reply's metadata may."""

from __future__ import annotations

import pytest

from securemq.zmtp.metadata import lookup, message_properties

RULES = {"Securemq-Subscribe": b"a,b", "Securemq-Read-Only": b"1",
         "Securemq-Routing-Ids": b"alice"}


@pytest.mark.parametrize("spelling", ["Securemq-Routing-Ids", "securemq-routing-ids",
                                      "SECUREMQ-ROUTING-IDS", "Securemq-Anything-New"])
def test_a_peer_cannot_set_a_reserved_name(spelling: str) -> None:
    peer = {"Socket-Type": b"DEALER", spelling: b"victim", "X-Note": b"kept"}
    for zap, user in (({}, None), ({"Role": b"user"}, b"bob")):
        props = message_properties(peer, peer_address="127.0.0.1", zap_metadata=zap,
                                   user_id=user)
        assert lookup(props, spelling) is None
        assert lookup(props, "X-Note") == b"kept"
        assert not [name for name in props if name.lower().startswith("securemq-")]


def test_zap_sets_reserved_names_and_beats_the_peer() -> None:
    peer = {"Socket-Type": b"DEALER", "securemq-read-only": b"0",
            "Securemq-Routing-Ids": b"victim"}
    props = message_properties(peer, peer_address="127.0.0.1", zap_metadata=RULES,
                               user_id=b"alice")
    for name, value in RULES.items():
        assert lookup(props, name) == value
    assert [name for name in props if name.lower().startswith("securemq-")] == list(RULES)
