"""decide() without sockets: every policy, pyzmq's Authenticator semantics, audit, failures."""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from auth_helpers import zap_request
from securemq.auth import (
    CURVE_ALLOW_ANY,
    AddressPolicy,
    AuditRecord,
    Authenticator,
    Chain,
    CurveAllowAny,
    CurveCallback,
    CurveKeyDirectory,
    Decision,
    PerDomain,
    PlainPasswords,
    ZapRequest,
    create_certificates,
    decide,
    load_certificate,
)
from securemq.auth.handler import encode_metadata

from securemq import z85

NO_CONTEXT = object()  # decide() never touches the context


def _auth(on_decision: Callable[[AuditRecord], None] | None = None) -> Authenticator:
    return Authenticator(context=NO_CONTEXT, on_decision=on_decision)


def _status(reply: list[bytes] | None) -> tuple[bytes, bytes, bytes]:
    assert reply is not None and len(reply) == 6
    assert reply[0] == b"1.0"
    return reply[2], reply[3], reply[4]


def _curve_key() -> tuple[bytes, bytes]:
    public, _ = z85.curve_keypair()
    return public, z85.decode(public)


# ---- request parsing -------------------------------------------------------------------------


def test_request_view_helpers() -> None:
    plain = ZapRequest.from_frames(zap_request("PLAIN", b"admin", b"pw", domain="d"))
    assert (plain.domain, plain.address, plain.routing_id) == ("d", "127.0.0.1", b"IDENT")
    assert (plain.username, plain.password, plain.client_key) == ("admin", b"pw", None)
    z, raw = _curve_key()
    curve = ZapRequest.from_frames(zap_request("CURVE", raw))
    assert curve.client_key == raw and curve.client_key_z85 == z.decode()
    assert curve.username is None and curve.principal == z.decode()


def test_malformed_requests_get_400_or_are_ignored() -> None:
    auth = _auth()
    assert _status(auth.decide([b"1.0", b"7", b""]))[0] == b"400"
    reply = auth.decide([b"1.0", b"7", b""])
    assert reply is not None and reply[1] == b"7"
    assert auth.decide([b"1.0"]) is None
    assert auth.decide([]) is None
    bad_version = zap_request("NULL")
    bad_version[0] = b"2.0"
    assert _status(auth.decide(bad_version))[0] == b"400"
    bad_mech = zap_request("NULL")
    bad_mech[5] = b"\xff\xfe"
    assert _status(auth.decide(bad_mech))[0] == b"400"


def test_reply_echoes_request_id() -> None:
    reply = _auth().decide(zap_request("NULL", request_id=b"42"))
    assert reply is not None and reply[1] == b"42"


# ---- pyzmq semantics ---------------------------------------------------------------------------


def test_null_allowed_by_default_with_anonymous_user() -> None:
    assert _status(_auth().decide(zap_request("NULL"))) == (b"200", b"OK", b"anonymous")


def test_deny_blocks_address_for_every_mechanism() -> None:
    auth = _auth()
    auth.deny("127.0.0.1")
    auth.configure_plain(passwords={"admin": "pw"})
    assert _status(auth.decide(zap_request("NULL")))[:2] == (b"400", b"Address denied")
    assert _status(auth.decide(zap_request("PLAIN", b"admin", b"pw")))[0] == b"400"
    assert _status(auth.decide(zap_request("NULL", address="10.0.0.1")))[0] == b"200"
    assert (
        _status(auth.decide(zap_request("PLAIN", b"admin", b"pw", address="10.0.0.1")))[0] == b"200"
    )


def test_allow_list_refuses_others() -> None:
    auth = _auth()
    auth.allow("127.0.0.1")
    assert _status(auth.decide(zap_request("NULL")))[0] == b"200"
    assert _status(auth.decide(zap_request("NULL", address="10.0.0.2")))[:2] == (
        b"400",
        b"Address not allowed",
    )


def test_allow_after_deny_and_deny_after_allow_raise() -> None:
    auth = _auth()
    auth.deny("1.2.3.4")
    with pytest.raises(ValueError):
        auth.allow("5.6.7.8")
    other = _auth()
    other.allow("1.2.3.4")
    with pytest.raises(ValueError):
        other.deny("5.6.7.8")


def test_cidr_allow_and_deny() -> None:
    auth = _auth()
    auth.allow("10.0.0.0/8", "192.168.1.7", "fd00::/8")
    assert _status(auth.decide(zap_request("NULL", address="10.20.30.40")))[0] == b"200"
    assert _status(auth.decide(zap_request("NULL", address="192.168.1.7")))[0] == b"200"
    assert _status(auth.decide(zap_request("NULL", address="fd00::1")))[0] == b"200"
    assert _status(auth.decide(zap_request("NULL", address="::ffff:10.1.1.1")))[0] == b"200"
    assert _status(auth.decide(zap_request("NULL", address="11.0.0.1")))[0] == b"400"
    assert _status(auth.decide(zap_request("NULL", address=":1000:1000:42")))[0] == b"400"
    deny = AddressPolicy(deny=["127.0.0.0/8"])
    assert deny(ZapRequest.from_frames(zap_request("NULL", address="127.9.9.9"))) is not None
    assert deny(ZapRequest.from_frames(zap_request("NULL", address="128.0.0.1"))) is None
    with pytest.raises(ValueError, match="CIDR"):
        AddressPolicy(allow=["10.0.0.0/99"])


def test_plain_right_wrong_unconfigured() -> None:
    auth = _auth()
    assert _status(auth.decide(zap_request("PLAIN", b"admin", b"pw")))[:2] == (
        b"400",
        b"No passwords defined",
    )
    auth.configure_plain(domain="*", passwords={"admin": "pw"})
    assert _status(auth.decide(zap_request("PLAIN", b"admin", b"pw"))) == (b"200", b"OK", b"admin")
    assert _status(auth.decide(zap_request("PLAIN", b"admin", b"nope")))[:2] == (
        b"400",
        b"Invalid password",
    )
    assert _status(auth.decide(zap_request("PLAIN", b"eve", b"pw")))[:2] == (
        b"400",
        b"Invalid username",
    )
    assert _status(auth.decide(zap_request("PLAIN", b"admin")))[:2] == (
        b"400",
        b"Invalid credentials",
    )


def test_star_domain_means_only_the_empty_domain() -> None:
    auth = _auth()
    auth.configure_plain(domain="*", passwords={"admin": "pw"})
    assert _status(auth.decide(zap_request("PLAIN", b"admin", b"pw", domain="global")))[:2] == (
        b"400",
        b"Invalid domain",
    )
    auth.configure_plain(domain="global", passwords={"g": "x"})
    assert _status(auth.decide(zap_request("PLAIN", b"g", b"x", domain="global")))[0] == b"200"
    assert _status(auth.decide(zap_request("PLAIN", b"g", b"x")))[0] == b"400"


def test_password_dict_is_live() -> None:
    passwords = {"admin": "pw"}
    auth = _auth()
    auth.configure_plain(passwords=passwords)
    passwords["new"] = "user"
    assert _status(auth.decide(zap_request("PLAIN", b"new", b"user")))[0] == b"200"


def test_curve_allow_any_and_default_user_id_is_z85() -> None:
    auth = _auth()
    z, raw = _curve_key()
    assert _status(auth.decide(zap_request("CURVE", raw)))[0] == b"400"
    auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
    assert _status(auth.decide(zap_request("CURVE", raw))) == (b"200", b"OK", z)
    assert _status(auth.decide(zap_request("CURVE", raw[:31])))[:2] == (
        b"400",
        b"Invalid credentials",
    )


def test_overriding_curve_user_id() -> None:
    class Named(Authenticator):
        def curve_user_id(self, client_public_key: bytes) -> str:
            return "user-" + client_public_key[:2].hex()

    auth = Named(context=NO_CONTEXT)
    auth.configure_curve(location=CURVE_ALLOW_ANY)
    _, raw = _curve_key()
    assert _status(auth.decide(zap_request("CURVE", raw)))[2] == ("user-" + raw[:2].hex()).encode()


def test_curve_key_directory_accepts_known_refuses_unknown(tmp_path: Path) -> None:
    public_file, _ = create_certificates(tmp_path, "client", {"role": "reader"})
    known = z85.decode(load_certificate(public_file)[0])
    auth = _auth()
    auth.configure_curve(domain="*", location=tmp_path)
    reply = auth.decide(zap_request("CURVE", known))
    assert _status(reply)[:2] == (b"200", b"OK")
    assert reply is not None and reply[5] == encode_metadata({"role": "reader"})
    _, unknown = _curve_key()
    assert _status(auth.decide(zap_request("CURVE", unknown)))[:2] == (b"400", b"Unknown key")
    assert _status(auth.decide(zap_request("CURVE", known, domain="other")))[:2] == (
        b"400",
        b"Unknown domain",
    )


def test_key_directory_reload_revokes_and_adds(tmp_path: Path) -> None:
    now = [0.0]
    public_file, _ = create_certificates(tmp_path, "a")
    key_a = z85.decode(load_certificate(public_file)[0])
    policy = CurveKeyDirectory(tmp_path, reload_interval=0.5, clock=lambda: now[0])
    request_a = ZapRequest.from_frames(zap_request("CURVE", key_a))
    assert policy(request_a) == Decision.allow("curve-directory", metadata={})
    os.unlink(public_file)
    assert policy(request_a) is not None and policy(request_a).allowed  # type: ignore[union-attr]
    now[0] = 0.6  # interval elapsed: the listing changed, keys are re-read
    decision = policy(request_a)
    assert decision is not None and decision.status == 400
    b_file, _ = create_certificates(tmp_path, "b")
    key_b = z85.decode(load_certificate(b_file)[0])
    now[0] = 1.2
    decision = policy(ZapRequest.from_frames(zap_request("CURVE", key_b)))
    assert decision is not None and decision.allowed


def test_key_directory_skips_bad_files_and_survives_missing_dir(tmp_path: Path) -> None:
    good, _ = create_certificates(tmp_path, "good")
    (tmp_path / "bad.key").write_text("garbage\n")
    policy = CurveKeyDirectory(tmp_path)
    assert list(policy.keys) == [load_certificate(good)[0]]
    gone = CurveKeyDirectory(tmp_path / "missing")
    _, raw = _curve_key()
    decision = gone(ZapRequest.from_frames(zap_request("CURVE", raw)))
    assert decision is not None and decision.status == 400


def test_curve_callback_sync_and_async() -> None:
    good_z85, good = _curve_key()
    _, bad = _curve_key()
    seen: list[tuple[str, bytes]] = []

    class Provider:
        def callback(self, domain: str, key: bytes) -> bool:
            seen.append((domain, key))
            return key == good_z85

    async def async_provider(domain: str, key: bytes) -> bool:
        return key == good_z85

    for provider in (Provider(), async_provider):
        auth = _auth()
        auth.configure_curve_callback(domain="*", credentials_provider=provider)
        assert _status(auth.decide(zap_request("CURVE", good))) == (b"200", b"OK", good_z85)
        assert _status(auth.decide(zap_request("CURVE", bad)))[:2] == (b"400", b"Unknown key")
        assert _status(auth.decide(zap_request("CURVE", good, domain="x")))[:2] == (
            b"400",
            b"Unknown domain",
        )
    assert seen[0] == ("*", good_z85)


def test_gssapi_and_unknown_mechanism() -> None:
    auth = _auth()
    assert _status(auth.decide(zap_request("GSSAPI", b"alice@REALM"))) == (
        b"200",
        b"OK",
        b"alice@REALM",
    )
    assert _status(auth.decide(zap_request("WEIRD")))[0] == b"400"


# ---- composition, custom policies, failures -------------------------------------------------


def test_chain_first_definite_decision_wins() -> None:
    calls: list[str] = []

    def abstain(request: ZapRequest) -> Decision | None:
        calls.append("abstain")
        return None

    def refuse(request: ZapRequest) -> Decision | None:
        calls.append("refuse")
        return Decision.deny("refuse", "No", status=500)

    def never(request: ZapRequest) -> Decision | None:
        calls.append("never")
        return None

    reply = decide(zap_request("NULL"), Chain(abstain, refuse, never))
    assert _status(reply)[:2] == (b"500", b"No")
    assert calls == ["abstain", "refuse"]
    assert _status(decide(zap_request("NULL"), Chain(abstain)))[:2] == (b"400", b"No access")


def test_chain_with_async_member_is_awaited() -> None:
    async def slow_yes(request: ZapRequest) -> Decision | None:
        return Decision.allow("slow", user_id="async-user", metadata={"Hello": "World"})

    reply = decide(zap_request("NULL"), Chain(lambda r: None, slow_yes))
    assert _status(reply) == (b"200", b"OK", b"async-user")
    assert reply is not None
    assert reply[5] == b"\x05Hello" + struct.pack(">I", 5) + b"World"


def test_per_domain_composition() -> None:
    policy = PerDomain(
        {"*": PlainPasswords({"u": "p"}), "keys": CurveAllowAny()},
        fallback=lambda r: Decision.deny("fallback", "Unknown domain"),
    )
    _, raw = _curve_key()
    assert _status(decide(zap_request("PLAIN", b"u", b"p"), policy))[0] == b"200"
    assert _status(decide(zap_request("CURVE", raw, domain="keys"), policy))[0] == b"200"
    assert _status(decide(zap_request("CURVE", raw, domain="else"), policy))[1] == b"Unknown domain"


def test_add_policy_global_and_per_domain_after_address_check() -> None:
    auth = _auth()
    auth.deny("6.6.6.6")
    auth.add_policy(lambda r: Decision.allow("vip", user_id="vip") if r.username == "vip" else None)
    auth.add_policy(lambda r: Decision.deny("closed", "Closed domain"), domain="closed")
    assert _status(auth.decide(zap_request("PLAIN", b"vip", b"x"))) == (b"200", b"OK", b"vip")
    assert _status(auth.decide(zap_request("PLAIN", b"vip", b"x", address="6.6.6.6")))[0] == b"400"
    assert _status(auth.decide(zap_request("NULL", domain="closed")))[1] == b"Closed domain"
    assert _status(auth.decide(zap_request("NULL", domain="open")))[0] == b"200"


def test_exception_in_policy_answers_500_and_next_request_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth = _auth()
    boom = [True]

    def flaky(request: ZapRequest) -> Decision | None:
        if boom[0]:
            boom[0] = False
            raise RuntimeError("database down")
        return None

    auth.add_policy(flaky)
    with caplog.at_level(logging.ERROR, logger="securemq.auth"):
        assert _status(auth.decide(zap_request("NULL")))[:2] == (b"500", b"Internal error")
    assert "RuntimeError" in caplog.text
    assert _status(auth.decide(zap_request("NULL")))[0] == b"200"

    async def async_boom(request: ZapRequest) -> Decision | None:
        raise KeyError("x")

    assert _status(decide(zap_request("NULL"), async_boom))[:2] == (b"500", b"Internal error")
    assert _status(decide(zap_request("NULL"), lambda r: "yes"))[0] == b"500"  # type: ignore[arg-type]
    bad_meta = lambda r: Decision.allow("m", metadata={"bad name": "x"})  # noqa: E731
    assert _status(decide(zap_request("NULL"), bad_meta))[0] == b"500"


def test_audit_records_never_contain_passwords(caplog: pytest.LogCaptureFixture) -> None:
    records: list[AuditRecord] = []
    auth = _auth(on_decision=records.append)
    auth.configure_plain(passwords={"admin": "hunter2-secret"})
    z, raw = _curve_key()
    with caplog.at_level(logging.DEBUG, logger="securemq.auth"):
        auth.decide(zap_request("PLAIN", b"admin", b"hunter2-secret", domain=""))
        auth.decide(zap_request("PLAIN", b"admin", b"wrong-secret-guess"))
        auth.decide(zap_request("CURVE", raw))
    assert [r.status for r in records] == [200, 400, 400]
    first = records[0]
    assert (first.mechanism, first.address, first.principal, first.user_id) == (
        "PLAIN",
        "127.0.0.1",
        "admin",
        "admin",
    )
    assert first.policy == "plain" and first.reason == "OK" and first.time > 0
    assert records[1].reason == "Invalid password"
    assert records[2].principal == z.decode() and records[2].policy == "curve"
    assert "hunter2" not in caplog.text and "wrong-secret-guess" not in caplog.text
    assert "hunter2" not in repr(records) and "wrong-secret" not in repr(records)
    audit = [r for r in caplog.records if hasattr(r, "zap_audit")]
    assert (
        len(audit) == 3 and audit[0].levelno == logging.INFO and audit[1].levelno == logging.WARNING
    )


def test_failing_audit_callback_does_not_break_decisions() -> None:
    def broken(record: AuditRecord) -> None:
        raise RuntimeError("audit sink down")

    assert _status(_auth(on_decision=broken).decide(zap_request("NULL")))[0] == b"200"


def test_decision_validates_status() -> None:
    with pytest.raises(ValueError):
        Decision(201, "nope")
    assert CurveCallback(lambda d, k: True)(ZapRequest.from_frames(zap_request("NULL"))) is None
