"""The ZAP handler: ``decide(frames) -> reply frames`` (pure) and the serve loop.

How this works
--------------
``ZapHandler.decide`` takes the frames a REP socket receives on ``inproc://zeromq.zap.01``
(RFC 27, without the delimiter), parses them into a ``ZapRequest``, asks the policy, fills in
the mechanism's default user id, writes one audit record, and returns the six reply frames
(version, request id, status, text, user id, metadata). No sockets are involved, so it is
tested directly. Failures never escape: a malformed request gets 400, an exception inside a
policy gets 500 "Internal error" (logged), a request too broken to answer gets ``None``.

``serve`` runs the loop on a socket with the pyzmq API (``poll``, ``recv_multipart``,
``send_multipart``) until a ``threading.Event`` is set, polling with a short timeout so a stop
request is seen promptly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from securemq import AccessRules, z85
from securemq.constants import POLLIN
from securemq.safetext import printable, quoted
from securemq.zmtp.zap import ZAP_VERSION, encode_reply
from securemq.zmtp.zap import encode_metadata as encode_properties

from .policies import (
    Decision,
    MalformedZapRequest,
    Policy,
    PolicyResult,
    ZapRequest,
)

__all__ = ["AuditRecord", "ZapHandler", "decide", "encode_metadata", "reply_frames"]

AUDIT_LOGGER = "securemq.auth"
_FALLBACK_REPLY = [ZAP_VERSION, b"", b"400", b"Malformed request", b"", b""]


@dataclass(frozen=True)
class AuditRecord:
    """One authentication decision. ``principal`` is the username or Z85 key, never a secret."""

    time: float
    domain: str
    mechanism: str
    address: str
    principal: str | None
    status: int
    reason: str
    policy: str
    user_id: str


def encode_metadata(metadata: Mapping[str, bytes | str], encoding: str = "utf-8") -> bytes:
    """ZAP metadata in ZMTP property form (str values are encoded with ``encoding``)."""
    return encode_properties(_as_bytes_values(metadata, encoding))


def _as_bytes_values(metadata: Mapping[str, bytes | str], encoding: str) -> dict[str, bytes]:
    return {
        name: value.encode(encoding) if isinstance(value, str) else bytes(value)
        for name, value in metadata.items()
    }


def reply_frames(request_id: bytes, decision: Decision, encoding: str = "utf-8") -> list[bytes]:
    """The six frames a REP socket sends back (the delimiter is added by REP). A 200's rules
    go into the metadata under their reserved names (and replace the same names there)."""
    allowed = decision.status == 200
    metadata: dict[str, bytes] | None = None
    if allowed:
        metadata = _as_bytes_values(decision.metadata, encoding)
        if decision.rules is not None:
            ruled = decision.rules.to_metadata()
            folded = {name.lower() for name in ruled}
            metadata = {name: value for name, value in metadata.items()
                        if name.lower() not in folded}
            metadata.update(ruled)
    return encode_reply(
        request_id=request_id,
        status_code=str(decision.status).encode("ascii"),
        status_text=decision.text.encode(encoding, "replace"),
        user_id=((decision.user_id or "") if allowed else "").encode(encoding, "replace"),
        metadata=metadata,
    )


def _default_curve_user_id(key: bytes) -> str:
    return z85.encode(key).decode("ascii")


async def _complete(pending: Awaitable[Decision | None]) -> Decision | None:
    return await pending


class ZapHandler:
    """Turn ZAP requests into replies with a policy; audit every decision.

    ``curve_user_id(raw_key) -> str`` gives the user id of an accepted CURVE client when the
    policy did not set one (default: the Z85 key, as pyzmq). ``on_decision`` receives every
    ``AuditRecord``; records are also logged to ``log`` (default logger "securemq.auth"): INFO for
    200, WARNING otherwise. ``rules_for(user_id) -> AccessRules | None`` (securemq) gives the
    authorization rules of an accepted peer whose decision carries none.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        encoding: str = "utf-8",
        curve_user_id: Callable[[bytes], str] = _default_curve_user_id,
        on_decision: Callable[[AuditRecord], None] | None = None,
        log: logging.Logger | None = None,
        rules_for: Callable[[str], AccessRules | None] | None = None,
    ) -> None:
        self.policy = policy
        self.rules_for = rules_for
        self.encoding = encoding
        self.curve_user_id = curve_user_id
        self.on_decision = on_decision
        self.log = log or logging.getLogger(AUDIT_LOGGER)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the decision, in three steps shared by the sync and async paths -------------------

    def _begin(
        self, frames: Sequence[bytes]
    ) -> tuple[ZapRequest, PolicyResult | BaseException] | list[bytes] | None:
        try:
            request = ZapRequest.from_frames(frames, self.encoding)
        except MalformedZapRequest as exc:
            self.log.warning("ZAP handler: malformed request: %s", printable(str(exc)))
            if exc.request_id is None:
                return None
            return reply_frames(exc.request_id, Decision.deny("parser", "Malformed request"))
        try:
            return request, self.policy(request)
        except Exception as exc:
            return request, exc

    def _finish(self, request: ZapRequest, outcome: object) -> list[bytes]:
        if isinstance(outcome, BaseException):
            # The exception text may quote peer input: escaped, and the traceback on one line.
            self.log.error(
                "ZAP handler: policy raised %s (%s) while deciding a %s request from %s",
                type(outcome).__name__,
                printable(str(outcome)),
                printable(request.mechanism),
                printable(request.address),
            )
            self.log.debug(
                "ZAP handler: policy traceback: %s",
                printable("".join(traceback.format_exception(outcome)), limit=8000),
            )
            decision = Decision(500, "Internal error", policy=_policy_name(self.policy))
        elif isinstance(outcome, Decision):
            decision = outcome
        elif outcome is None:
            decision = Decision.deny("default", "No access")
        else:
            self.log.error("ZAP handler: policy returned %r, not a Decision", type(outcome))
            decision = Decision(500, "Internal error", policy=_policy_name(self.policy))
        if decision.allowed and decision.user_id is None:
            try:
                decision = _with_user_id(decision, self._default_user_id(request))
            except Exception as exc:
                return self._finish(request, exc)
        if decision.allowed and decision.rules is None and self.rules_for is not None:
            try:
                rules = self.rules_for(decision.user_id or "")
            except Exception as exc:
                return self._finish(request, exc)
            if rules is not None:
                decision = dataclasses.replace(decision, rules=rules)
        try:
            frames = reply_frames(request.request_id, decision, self.encoding)
        except ValueError as exc:
            return self._finish(request, exc)
        self._audit(request, decision)
        return frames

    def _default_user_id(self, request: ZapRequest) -> str:
        if request.mechanism == "CURVE" and request.client_key is not None:
            return self.curve_user_id(request.client_key)
        if request.mechanism in ("PLAIN", "GSSAPI"):
            return request.principal or ""
        return "anonymous"

    def _audit(self, request: ZapRequest, decision: Decision) -> None:
        record = AuditRecord(
            time=time.time(),
            domain=request.domain,
            mechanism=request.mechanism,
            address=request.address,
            principal=request.principal,
            status=decision.status,
            reason=decision.text,
            policy=decision.policy,
            user_id=(decision.user_id or "") if decision.allowed else "",
        )
        level = logging.INFO if decision.allowed else logging.WARNING
        if self.log.isEnabledFor(level):
            self._log_audit(level, record, decision.allowed)
        if self.on_decision is not None:
            try:
                self.on_decision(record)
            except Exception:
                self.log.exception("ZAP handler: on_decision callback failed")

    def _log_audit(self, level: int, record: AuditRecord, allowed: bool) -> None:
        # Every field but the status is quoted and escaped: peers choose domains, user names
        # and (through the policy) reasons; the raw values stay in the structured record.
        self.log.log(
            level,
            "ZAP %s: status=%d reason=%s domain=%s mechanism=%s address=%s principal=%s "
            "policy=%s user_id=%s",
            "accepted" if allowed else "refused",
            record.status,
            quoted(record.reason),
            quoted(record.domain),
            quoted(record.mechanism),
            quoted(record.address),
            quoted(record.principal),
            quoted(record.policy),
            quoted(record.user_id),
            extra={"zap_audit": asdict(record)},
        )

    # -- public entry points -----------------------------------------------------------------

    def decide(self, frames: Sequence[bytes]) -> list[bytes] | None:
        """Reply frames for one request (``None``: too malformed to answer).

        An async policy is run to completion on a private event loop: do not call this from
        inside a running loop (use ``decide_async`` there).
        """
        started = self._begin(frames)
        if not isinstance(started, tuple):
            return started
        request, outcome = started
        if inspect.isawaitable(outcome):
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            try:
                outcome = self._loop.run_until_complete(_complete(outcome))
            except Exception as exc:
                outcome = exc
        return self._finish(request, outcome)

    async def decide_async(self, frames: Sequence[bytes]) -> list[bytes] | None:
        """``decide`` for asyncio runners: async policies are awaited on the running loop."""
        started = self._begin(frames)
        if not isinstance(started, tuple):
            return started
        request, outcome = started
        if inspect.isawaitable(outcome):
            try:
                outcome = await outcome
            except Exception as exc:
                outcome = exc
        return self._finish(request, outcome)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def serve(self, socket: Any, stop: threading.Event, poll_ms: int = 100,
              tick: Callable[[], object] | None = None) -> None:
        """Answer requests on a bound REP ``socket`` until ``stop`` is set or the socket fails;
        ``tick`` (if any) runs between requests, at least every ``poll_ms`` (an exception in it
        is logged, never fatal)."""
        try:
            while not stop.is_set():
                if tick is not None:
                    self._tick(tick)
                if not socket.poll(poll_ms, POLLIN):
                    continue
                frames = socket.recv_multipart()
                reply = self.decide(frames)
                socket.send_multipart(reply if reply is not None else _FALLBACK_REPLY)
        except Exception as exc:
            if not stop.is_set():
                self.log.error(
                    "ZAP handler: socket failed, handler stopping: %s", printable(str(exc))
                )
        finally:
            self.close()


    def _tick(self, tick: Callable[[], object]) -> None:
        try:
            tick()
        except Exception as exc:
            self.log.error("ZAP handler: periodic check failed: %s (%s)",
                           type(exc).__name__, printable(str(exc)))


def _with_user_id(decision: Decision, user_id: str) -> Decision:
    return dataclasses.replace(decision, user_id=user_id)


def _policy_name(policy: object) -> str:
    return str(getattr(policy, "name", None) or type(policy).__name__)


def decide(frames: Sequence[bytes], policy: Policy, **options: Any) -> list[bytes] | None:
    """One-shot ``ZapHandler(policy, **options).decide(frames)``."""
    handler = ZapHandler(policy, **options)
    try:
        return handler.decide(frames)
    finally:
        handler.close()
