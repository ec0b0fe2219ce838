"""The outbox Transport for LINE: reply while the token is fresh, otherwise (or when the reply fails) push.

Outbox payload of a LINE item:
    {"to": chat id, "messages": [...], "fallback": [...plain text messages...],
     "reply_token": str | None, "reply_deadline": epoch seconds | None, "reply_ambiguous": bool}

Rules:
- A reply token works once and only for about a minute: it is used only before `reply_deadline`.
- A push always carries X-Line-Retry-Key = the item's retry_key, so a retried push never duplicates;
  LINE's 409 for an already accepted key counts as delivered.
- A reply whose outcome is unknown (timeout after sending, dropped connection, 5xx) marks the item
  `reply_pending`; if a retry then hears "Invalid reply token" while the token should still be fresh,
  that earlier attempt used it, so the item counts as delivered instead of being pushed again.
  (A sender killed after LINE accepted a reply but before it recorded "sent" leaves its item leased for
  two minutes, longer than a token lives, so the retry pushes: that window, at most the few milliseconds
  a lane takes to send one batch's answers before its one bookkeeping write, is the one case that may
  answer twice.)
- A Flex message LINE rejects (400) is sent again as its plain-text fallback.
- 429 and unreachable: retried after Retry-After or the backoff; 400/403 of a push: permanent.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from bot.line.client import LineApiError, LineClient, Sent
from bot.line.options import LineOptions
from bot.outbox import Transport, TransportError
from helpdesk.db import write_session
from tickets.models import OutboxMessage

log = logging.getLogger(__name__)

CHANNEL = "line"


def messages_for(payload: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The LINE messages of an outbox payload: prepared by the LINE handlers ("messages"), or written
    elsewhere as {"type": "text", "text": ...} (staff replies, alerts) or {"type": "followup", ...}."""
    from bot.line import flex
    from bot.line.followup import followup_messages

    if payload.get("messages"):
        return list(payload["messages"]), list(payload.get("fallback") or payload["messages"])
    if payload.get("type") == "followup" and payload.get("token"):
        out = followup_messages(payload)
        return out.messages, out.fallback
    text = str(payload.get("text") or "").strip()
    if not text:
        return [], []
    message = flex.text_message(text)
    return [message], [message]


def backoff_seconds(attempts: int, options: LineOptions) -> float:
    return min(options.retry_cap, options.retry_base * (2 ** min(attempts, 20)))


class LineTransport(Transport):
    channel = CHANNEL

    def __init__(self, client: LineClient, options: LineOptions, engine: Any = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.options = options
        self.engine = engine  # to remember an ambiguous reply across attempts
        self.clock = clock

    def send(self, item: OutboxMessage) -> dict[str, Any] | None:
        payload = dict(item.payload or {})
        messages, fallback = messages_for(payload)
        to = payload.get("to") or item.recipient
        if not messages or not to:
            raise TransportError("LINE outbox item without recipient or messages", permanent=True)
        payload["fallback"] = fallback

        token = payload.get("reply_token")
        deadline = payload.get("reply_deadline")
        if token and deadline and self.clock() < float(deadline):
            earlier_unknown = bool(payload.get("reply_pending"))
            try:
                sent = self._reply(token, messages, payload.get("fallback"))
                return self._result(sent, "reply")
            except LineApiError as err:
                if err.invalid_reply_token:
                    if earlier_unknown:
                        log.info("outbox %s: reply token already used by an earlier attempt", item.id)
                        return {"via": "reply"}
                    log.info("outbox %s: reply token refused, pushing instead", item.id)
                elif err.outcome == "ambiguous":
                    if not earlier_unknown:
                        self._mark(item.id, payload, pending=True)
                    raise TransportError(str(err), retry_after=self._delay(item, err, deadline)) from err
                elif err.outcome == "not_sent":
                    raise TransportError(str(err), retry_after=self._delay(item, err, deadline)) from err
                else:
                    log.warning("outbox %s: reply refused (%s), pushing instead", item.id, err)
        try:
            sent = self._push(to, messages, payload.get("fallback"), item.retry_key)
        except LineApiError as err:
            if err.retry_key_accepted:
                return {"via": "push"}
            raise TransportError(str(err), permanent=err.permanent,
                                 retry_after=None if err.permanent else self._delay(item, err, None)) from err
        return self._result(sent, "push")

    # ---- helpers
    def _reply(self, token: str, messages: list[dict[str, Any]], fallback: list[dict[str, Any]] | None) -> Sent:
        try:
            return self.client.reply(token, messages)
        except LineApiError as err:
            if err.status == 400 and not err.invalid_reply_token and fallback and fallback != messages:
                log.warning("LINE refused a rich message (%s); sending the plain-text version", err)
                return self.client.reply(token, fallback)
            raise

    def _push(self, to: str, messages: list[dict[str, Any]], fallback: list[dict[str, Any]] | None,
              retry_key: str) -> Sent:
        try:
            return self.client.push(to, messages, retry_key)
        except LineApiError as err:
            if err.status == 400 and fallback and fallback != messages:
                log.warning("LINE refused a rich message (%s); pushing the plain-text version", err)
                key = str(uuid.uuid5(uuid.UUID(retry_key), "plain-text"))
                try:
                    return self.client.push(to, fallback, key)
                except LineApiError as err2:
                    if err2.retry_key_accepted:
                        return Sent([])
                    raise
            raise

    def _delay(self, item: OutboxMessage, err: LineApiError, deadline: float | None) -> float:
        delay = err.retry_after if err.retry_after is not None else backoff_seconds(item.attempts, self.options)
        if deadline is not None:
            # Do not sleep past the token's life for nothing: wake up at the deadline to push instead.
            remaining = float(deadline) - self.clock()
            if err.retry_after is None and 0 < remaining < delay:
                delay = remaining
        return max(0.0, delay)

    def _mark(self, item_id: int, payload: dict[str, Any], *, pending: bool) -> None:
        """Remember across attempts (and crashes) whether a reply may have gone out."""
        if self.engine is None:
            return
        payload["reply_pending"] = pending
        with write_session(self.engine) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == item_id).values(payload=payload))

    @staticmethod
    def _result(sent: Sent, via: str) -> dict[str, Any]:
        result: dict[str, Any] = {"via": via}
        if sent.first_id:
            result["channel_message_id"] = sent.first_id
        return result
