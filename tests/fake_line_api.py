"""A local fake of the LINE platform for tests and the benchmark.

Two halves:

* `FakeLineApi`: an HTTP server that answers like the Messaging API and the data API
  (reply, push with X-Line-Retry-Key, loading animation, message content, rich menus, profiles,
  LIFF ID token verification). It records every request and can be told to misbehave: answer
  429 with Retry-After, 500, 400/403, be slow, drop the connection, or be down (connections refused).
* Builders for webhook bodies shaped like LINE's documented events, and `sign()` for the
  X-Line-Signature over the exact bytes sent.

Run it alone for the benchmark: `python tests/fake_line_api.py --port 9100 --admin-port 9101`; the admin
port answers GET /requests, POST /fault, POST /down, POST /up, POST /reset, POST /content.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TEST_CHANNEL_SECRET = "0123456789abcdef0123456789abcdef"
TEST_ACCESS_TOKEN = "test-channel-access-token"
BOT_USER_ID = "U" + "b0" * 16
TEST_LIFF_ID = "1650000000-AbCdEfGh"

_ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_counter = itertools.count(1)


# --------------------------------------------------------------------------------------------- events


def sign(body: bytes, secret: str = TEST_CHANNEL_SECRET) -> str:
    """The X-Line-Signature LINE sends: base64(HMAC-SHA256(channel secret, body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def ulid() -> str:
    """A ULID-shaped webhookEventId (26 characters, time-ordered)."""
    ms = int(time.time() * 1000)
    out = []
    for _ in range(10):
        out.append(_ULID_ALPHABET[ms & 31])
        ms >>= 5
    rand = int.from_bytes(os.urandom(10), "big")
    tail = []
    for _ in range(16):
        tail.append(_ULID_ALPHABET[rand & 31])
        rand >>= 5
    return "".join(reversed(out)) + "".join(tail)


def user_id(n: int | str | None = None) -> str:
    seed = str(n if n is not None else uuid.uuid4())
    return "U" + hashlib.md5(seed.encode()).hexdigest()


def group_id(n: int | str = 1) -> str:
    return "C" + hashlib.md5(f"group{n}".encode()).hexdigest()


def room_id(n: int | str = 1) -> str:
    return "R" + hashlib.md5(f"room{n}".encode()).hexdigest()


def message_id() -> str:
    return str(500_000_000_000_000_000 + next(_counter) * 7919 + int.from_bytes(os.urandom(3), "big"))


def reply_token() -> str:
    return uuid.uuid4().hex


def source_user(uid: str) -> dict[str, Any]:
    return {"type": "user", "userId": uid}


def source_group(gid: str, uid: str | None = None) -> dict[str, Any]:
    src: dict[str, Any] = {"type": "group", "groupId": gid}
    if uid:
        src["userId"] = uid
    return src


def source_room(rid: str, uid: str | None = None) -> dict[str, Any]:
    src: dict[str, Any] = {"type": "room", "roomId": rid}
    if uid:
        src["userId"] = uid
    return src


def _base(kind: str, source: dict[str, Any], *, token: bool = True, redelivery: bool = False,
          event_id: str | None = None, timestamp_ms: int | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": kind, "mode": "active", "timestamp": timestamp_ms or int(time.time() * 1000),
                             "source": source, "webhookEventId": event_id or ulid(),
                             "deliveryContext": {"isRedelivery": redelivery}}
    if token:
        event["replyToken"] = reply_token()
    return event


def text_event(text: str, source: dict[str, Any] | str, *, mention_self: bool = False,
               mentions: list[dict[str, Any]] | None = None, msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
    """A text message event. `source` may be a userId string."""
    if isinstance(source, str):
        source = source_user(source)
    message: dict[str, Any] = {"id": msg_id or message_id(), "type": "text", "quoteToken": "q" + uuid.uuid4().hex,
                               "text": text}
    mentionees = list(mentions or [])
    if mention_self:
        name = "@ICT Helpdesk"
        message["text"] = f"{name} {text}"
        mentionees.insert(0, {"index": 0, "length": len(name), "type": "user", "userId": BOT_USER_ID,
                              "isSelf": True})
    if mentionees:
        message["mention"] = {"mentionees": mentionees}
    return {**_base("message", source, **kw), "message": message}


def image_event(source: dict[str, Any] | str, *, msg_id: str | None = None, image_set: tuple[str, int, int] | None = None,
                **kw: Any) -> dict[str, Any]:
    if isinstance(source, str):
        source = source_user(source)
    message: dict[str, Any] = {"id": msg_id or message_id(), "type": "image", "quoteToken": "q" + uuid.uuid4().hex,
                               "contentProvider": {"type": "line"}}
    if image_set:
        message["imageSet"] = {"id": image_set[0], "index": image_set[1], "total": image_set[2]}
    return {**_base("message", source, **kw), "message": message}


def video_event(source: dict[str, Any] | str, *, msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
    if isinstance(source, str):
        source = source_user(source)
    message = {"id": msg_id or message_id(), "type": "video", "quoteToken": "q" + uuid.uuid4().hex,
               "duration": 60000, "contentProvider": {"type": "line"}}
    return {**_base("message", source, **kw), "message": message}


def audio_event(source: dict[str, Any] | str, *, msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
    if isinstance(source, str):
        source = source_user(source)
    message = {"id": msg_id or message_id(), "type": "audio", "duration": 60000, "contentProvider": {"type": "line"}}
    return {**_base("message", source, **kw), "message": message}


def file_event(source: dict[str, Any] | str, *, file_name: str, file_size: int, msg_id: str | None = None,
               **kw: Any) -> dict[str, Any]:
    if isinstance(source, str):
        source = source_user(source)
    message = {"id": msg_id or message_id(), "type": "file", "fileName": file_name, "fileSize": file_size}
    return {**_base("message", source, **kw), "message": message}


def sticker_event(source: dict[str, Any] | str, **kw: Any) -> dict[str, Any]:
    if isinstance(source, str):
        source = source_user(source)
    message = {"type": "sticker", "id": message_id(), "quoteToken": "q" + uuid.uuid4().hex, "stickerId": "52002738",
               "packageId": "11537", "stickerResourceType": "ANIMATION",
               "keywords": ["cony", "sally", "Staring", "hi", "whatsup", "line", "howdy", "HEY", "Peeking", "wave",
                            "peek", "Hello", "yo", "greetings"]}
    return {**_base("message", source, **kw), "message": message}


def location_event(source: dict[str, Any] | str, **kw: Any) -> dict[str, Any]:
    if isinstance(source, str):
        source = source_user(source)
    message = {"id": message_id(), "type": "location", "title": "my location", "address": "Bangkok",
               "latitude": 13.75, "longitude": 100.5}
    return {**_base("message", source, **kw), "message": message}


def follow_event(uid: str, *, unblocked: bool = False, **kw: Any) -> dict[str, Any]:
    return {**_base("follow", source_user(uid), **kw), "follow": {"isUnblocked": unblocked}}


def unfollow_event(uid: str, **kw: Any) -> dict[str, Any]:
    return _base("unfollow", source_user(uid), token=False, **kw)


def postback_event(data: str, source: dict[str, Any] | str, *, params: dict[str, str] | None = None,
                   **kw: Any) -> dict[str, Any]:
    if isinstance(source, str):
        source = source_user(source)
    postback: dict[str, Any] = {"data": data}
    if params:
        postback["params"] = params
    return {**_base("postback", source, **kw), "postback": postback}


def unsend_event(source: dict[str, Any] | str, msg_id: str, **kw: Any) -> dict[str, Any]:
    if isinstance(source, str):
        source = source_user(source)
    return {**_base("unsend", source, token=False, **kw), "unsend": {"messageId": msg_id}}


def join_event(source: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return _base("join", source, **kw)


def leave_event(source: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return _base("leave", source, token=False, **kw)


def webhook_body(events: Iterable[dict[str, Any]], destination: str = BOT_USER_ID) -> bytes:
    """The request body LINE posts (compact JSON, UTF-8)."""
    return json.dumps({"destination": destination, "events": list(events)}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def signed_headers(body: bytes, secret: str = TEST_CHANNEL_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "X-Line-Signature": sign(body, secret),
            "User-Agent": "LineBotWebhook/2.0"}


# --------------------------------------------------------------------------------------------- server


@dataclass
class Recorded:
    t: float
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    fault: str | None = None

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"t": self.t, "method": self.method, "path": self.path, "headers": self.headers,
                                "status": self.status, "fault": self.fault}
        parsed = self.json
        if parsed is not None:
            data["json"] = parsed
        else:
            data["body_len"] = len(self.body)
        return data


@dataclass
class Fault:
    prefix: str
    mode: str  # "status" | "slow" | "drop" (before acting) | "lose" (acts, then drops the connection)
    times: int | None = 1  # None: until cleared
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    message: str = "fake failure"

    def take(self) -> bool:
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


@dataclass
class Content:
    data: bytes
    content_type: str


@dataclass
class _State:
    access_token: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    requests: list[Recorded] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    used_reply_tokens: set[str] = field(default_factory=set)
    issued_tokens: dict[str, float] = field(default_factory=dict)
    strict_tokens: bool = False
    reply_token_ttl: float | None = None
    accepted_retry_keys: dict[str, str] = field(default_factory=dict)
    reject_flex: bool = False
    contents: dict[str, Content] = field(default_factory=dict)
    rich_menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    rich_menu_images: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    default_rich_menu: str | None = None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    liff_channel_id: str = TEST_LIFF_ID.split("-")[0]
    token_targets: dict[str, str] = field(default_factory=dict)
    sent_seq: itertools.count = field(default_factory=lambda: itertools.count(1))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between the headers and the body
    wbufsize = 64 * 1024  # one write per response (flushed after each request)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    # One entry point for every method.
    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake: FakeLineApi = self.server.fake
        path = urlsplit(self.path).path
        headers = {k: v for k, v in self.headers.items()}
        fault = fake._take_fault(path)
        if fault is not None and fault.mode == "drop":
            fake._record(Recorded(time.time(), self.command, path, headers, body, 0, "drop"))
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.mode == "status":
            payload: dict[str, Any] = {"message": fault.message}
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            fake._record(Recorded(time.time(), self.command, path, headers, body, fault.status, f"status:{fault.status}"))
            self._send(fault.status, payload, extra)
            return
        status, payload, extra, raw = fake._dispatch(self.command, path, headers, body, self.path)
        fake._record(Recorded(time.time(), self.command, path, headers, body, status,
                              fault.mode if fault is not None else None))
        if fault is not None and fault.mode == "slow":
            time.sleep(fault.delay)  # acted on already; only the answer is late
        if fault is not None and fault.mode == "lose":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if raw is not None:
            self._send_raw(status, raw[1], raw[0], extra)
        else:
            self._send(status, payload, extra)

    def _send(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self._send_raw(status, data, "application/json", extra)

    def _send_raw(self, status: int, data: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Line-Request-Id", uuid.uuid4().hex)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr: tuple[str, int], fake: FakeLineApi) -> None:
        self.fake = fake
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def kill_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _valid_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


class FakeLineApi:
    """The fake Messaging API + data API on one loopback port (point both base URLs at `url`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, access_token: str = TEST_ACCESS_TOKEN) -> None:
        self.host = host
        self.port = port
        self.state = _State(access_token=access_token)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[Recorded], None]] = []
        self._cond = threading.Condition()

    # ---- life cycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def start(self) -> FakeLineApi:
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-line-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.kill_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def go_down(self) -> None:
        """Refuse connections (and cut open keep-alive ones) until come_up()."""
        self.stop()

    def come_up(self) -> None:
        if self._server is None:
            self.start()

    def down_for(self, seconds: float) -> threading.Timer:
        self.go_down()
        timer = threading.Timer(seconds, self.come_up)
        timer.daemon = True
        timer.start()
        return timer

    def __enter__(self) -> FakeLineApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- behaviour controls
    def fail(self, prefix: str, status: int = 500, *, times: int | None = 1, retry_after: str | float | None = None,
             message: str = "fake failure") -> None:
        with self.state.lock:
            self.state.faults.append(Fault(prefix, "status", times, status,
                                           None if retry_after is None else str(retry_after), message=message))

    def slow(self, prefix: str, seconds: float, *, times: int | None = 1) -> None:
        with self.state.lock:
            self.state.faults.append(Fault(prefix, "slow", times, delay=seconds))

    def drop(self, prefix: str, *, times: int | None = 1) -> None:
        """Close the connection without acting on the request."""
        with self.state.lock:
            self.state.faults.append(Fault(prefix, "drop", times))

    def lose_response(self, prefix: str, *, times: int | None = 1) -> None:
        """Act on the request, then close the connection before answering (the client cannot know)."""
        with self.state.lock:
            self.state.faults.append(Fault(prefix, "lose", times))

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def reset(self) -> None:
        with self.state.lock:
            self.state.requests.clear()
            self.state.faults.clear()
            self.state.used_reply_tokens.clear()
            self.state.issued_tokens.clear()
            self.state.accepted_retry_keys.clear()

    def issue_reply_token(self) -> str:
        token = reply_token()
        with self.state.lock:
            self.state.issued_tokens[token] = time.monotonic()
        return token

    def add_content(self, msg_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        with self.state.lock:
            self.state.contents[msg_id] = Content(data, content_type)

    def set_profile(self, uid: str, display_name: str) -> None:
        with self.state.lock:
            self.state.profiles[uid] = {"userId": uid, "displayName": display_name, "language": "th"}

    # ---- inspection
    def requests(self, path_prefix: str = "", *, ok_only: bool = False) -> list[Recorded]:
        with self.state.lock:
            out = [r for r in self.state.requests if r.path.startswith(path_prefix)]
        return [r for r in out if 200 <= r.status < 300] if ok_only else out

    def delivered(self) -> list[Recorded]:
        """Accepted reply and push requests (what reached the user)."""
        return [r for r in self.requests("/v2/bot/message/", ok_only=True)
                if r.path in ("/v2/bot/message/reply", "/v2/bot/message/push")]

    def delivered_to(self, to: str) -> list[Recorded]:
        out = []
        for r in self.delivered():
            body = r.json or {}
            pushed = r.path.endswith("/push") and body.get("to") == to
            replied = r.path.endswith("/reply") and self.reply_target(body.get("replyToken", "")) == to
            if pushed or replied:
                out.append(r)
        return out

    def texts(self, records: Iterable[Recorded] | None = None) -> list[str]:
        """Every text a user would read (text messages, Flex altText and the Flex body texts)."""
        out: list[str] = []
        for r in records if records is not None else self.delivered():
            for m in (r.json or {}).get("messages", []):
                out.extend(message_texts(m))
        return out

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def track(self, event: dict[str, Any]) -> dict[str, Any]:
        """Remember which chat an event's reply token answers (as LINE knows), so replies can be attributed."""
        token = event.get("replyToken") if isinstance(event, dict) else None
        if token:
            src = event.get("source") or {}
            to = src.get("groupId") or src.get("roomId") or src.get("userId")
            with self.state.lock:
                self.state.token_targets[token] = to
                self.state.issued_tokens.setdefault(token, time.monotonic())
        return event

    def reply_target(self, token: str) -> str | None:
        with self.state.lock:
            return self.state.token_targets.get(token)

    # ---- internals
    def _record(self, rec: Recorded) -> None:
        with self.state.lock:
            self.state.requests.append(rec)
        with self._cond:
            self._cond.notify_all()
        for listener in self._listeners:
            listener(rec)

    def _take_fault(self, path: str) -> Fault | None:
        with self.state.lock:
            for fault in self.state.faults:
                if path.startswith(fault.prefix) and fault.take():
                    return fault
        return None

    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes, raw_path: str
                  ) -> tuple[int, Any, dict[str, str], tuple[str, bytes] | None]:
        st = self.state
        if path == "/oauth2/v2.1/verify" and method == "POST":
            return self._verify_id_token(body)
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth != f"Bearer {st.access_token}":
            return 401, {"message": "Authentication failed. Confirm that the access token in the authorization "
                                    "header is valid."}, {}, None
        try:
            data = json.loads(body) if body and "json" in (headers.get("Content-Type") or "") else None
        except ValueError:
            return 400, {"message": "The request body has 1 error(s)"}, {}, None

        if path == "/v2/bot/message/reply" and method == "POST":
            return self._reply(data or {})
        if path == "/v2/bot/message/push" and method == "POST":
            return self._push(data or {}, headers.get("X-Line-Retry-Key") or headers.get("x-line-retry-key"))
        if path == "/v2/bot/chat/loading/start" and method == "POST":
            chat = (data or {}).get("chatId", "")
            if not str(chat).startswith("U"):
                return 400, {"message": "The chat ID must be a user ID"}, {}, None
            return 202, {}, {}, None
        if path.startswith("/v2/bot/message/") and path.endswith("/content") and method == "GET":
            msg = path.split("/")[4]
            with st.lock:
                content = st.contents.get(msg)
            if content is None:
                return 404, {"message": "Not found"}, {}, None
            return 200, None, {}, (content.content_type, content.data)
        if path.startswith("/v2/bot/profile/") and method == "GET":
            uid = path.rsplit("/", 1)[1]
            with st.lock:
                profile = st.profiles.get(uid)
            if profile is None:
                return 404, {"message": "Not found"}, {}, None
            return 200, profile, {}, None
        return self._rich_menu(method, path, headers, data, body)

    def _validate_messages(self, messages: Any) -> str | None:
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            return "Size must be between 1 and 5"
        for m in messages:
            if not isinstance(m, dict) or "type" not in m:
                return "The property, 'type', in the request body is invalid"
            if m["type"] == "text" and not (isinstance(m.get("text"), str) and 0 < len(m["text"]) <= 5000):
                return "Length must be between 1 and 5000"
            if m["type"] == "flex":
                if self.state.reject_flex:
                    return "A message (messages[0]) in the request body is invalid"
                alt = m.get("altText")
                if not isinstance(alt, str) or not 0 < len(alt) <= 400 or not isinstance(m.get("contents"), dict):
                    return "invalid flex message"
            items = (m.get("quickReply") or {}).get("items")
            if items is not None and not 0 < len(items) <= 13:
                return "quickReply items must be between 1 and 13"
        return None

    def _sent(self, messages: list[Any]) -> dict[str, Any]:
        return {"sentMessages": [{"id": str(700_000_000_000_000_000 + next(self.state.sent_seq)),
                                  "quoteToken": "q" + uuid.uuid4().hex} for _ in messages]}

    def _reply(self, data: dict[str, Any]) -> tuple[int, Any, dict[str, str], None]:
        st = self.state
        token = data.get("replyToken")
        problem = self._validate_messages(data.get("messages"))
        if problem:
            return 400, {"message": problem}, {}, None
        with st.lock:
            issued = st.issued_tokens.get(token) if token else None
            expired = (issued is not None and st.reply_token_ttl is not None
                       and time.monotonic() - issued > st.reply_token_ttl)
            unknown = st.strict_tokens and issued is None
            if not token or token in st.used_reply_tokens or expired or unknown:
                return 400, {"message": "Invalid reply token"}, {}, None
            st.used_reply_tokens.add(token)
        return 200, self._sent(data["messages"]), {}, None

    def _push(self, data: dict[str, Any], retry_key: str | None) -> tuple[int, Any, dict[str, str], None]:
        st = self.state
        if retry_key is not None and not _valid_uuid(retry_key):
            return 400, {"message": "The retry key is invalid"}, {}, None
        to = data.get("to")
        if not isinstance(to, str) or to[:1] not in ("U", "C", "R"):
            return 400, {"message": "The property, 'to', in the request body is invalid"}, {}, None
        problem = self._validate_messages(data.get("messages"))
        if problem:
            return 400, {"message": problem}, {}, None
        with st.lock:
            if retry_key is not None and retry_key in st.accepted_retry_keys:
                return 409, {"message": "The retry key is already accepted",
                             "sentMessages": []}, {"X-Line-Accepted-Request-Id": st.accepted_retry_keys[retry_key]}, None
            request_id = uuid.uuid4().hex
            if retry_key is not None:
                st.accepted_retry_keys[retry_key] = request_id
        return 200, self._sent(data["messages"]), {}, None

    def _verify_id_token(self, body: bytes) -> tuple[int, Any, dict[str, str], None]:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        token, client_id = form.get("id_token", ""), form.get("client_id", "")
        if client_id != self.state.liff_channel_id:
            return 400, {"error": "invalid_request", "error_description": "Invalid client_id"}, {}, None
        if not token.startswith("fake-id-token:"):
            return 400, {"error": "invalid_request", "error_description": "Invalid IdToken."}, {}, None
        uid = token.split(":", 1)[1]
        now = int(time.time())
        return 200, {"iss": "https://access.line.me", "sub": uid, "aud": client_id, "exp": now + 3600, "iat": now,
                     "amr": ["linesso"], "name": "ผู้ใช้ทดสอบ"}, {}, None

    def _rich_menu(self, method: str, path: str, headers: dict[str, str], data: Any, body: bytes
                   ) -> tuple[int, Any, dict[str, str], tuple[str, bytes] | None]:
        st = self.state
        parts = path.strip("/").split("/")
        if path == "/v2/bot/richmenu/validate" and method == "POST":
            return (200, {}, {}, None) if self._rich_menu_ok(data) else (400, {"message": "invalid"}, {}, None)
        if path == "/v2/bot/richmenu" and method == "POST":
            if not self._rich_menu_ok(data):
                return 400, {"message": "The request body has 1 error(s)"}, {}, None
            rid = "richmenu-" + uuid.uuid4().hex
            with st.lock:
                st.rich_menus[rid] = {**data, "richMenuId": rid}
            return 200, {"richMenuId": rid}, {}, None
        if path == "/v2/bot/richmenu/list" and method == "GET":
            with st.lock:
                return 200, {"richmenus": list(st.rich_menus.values())}, {}, None
        if len(parts) == 5 and parts[:3] == ["v2", "bot", "richmenu"] and parts[4] == "content" and method == "POST":
            rid = parts[3]
            ctype = headers.get("Content-Type", "")
            with st.lock:
                if rid not in st.rich_menus:
                    return 404, {"message": "Not found"}, {}, None
                if ctype not in ("image/png", "image/jpeg") or not body or len(body) > 1024 * 1024:
                    return 400, {"message": "invalid image"}, {}, None
                if rid in st.rich_menu_images:
                    return 400, {"message": "An image has already been uploaded to the richmenu"}, {}, None
                st.rich_menu_images[rid] = (ctype, body)
            return 200, {}, {}, None
        if len(parts) == 4 and parts[:3] == ["v2", "bot", "richmenu"] and method == "DELETE":
            with st.lock:
                if st.rich_menus.pop(parts[3], None) is None:
                    return 404, {"message": "Not found"}, {}, None
                if st.default_rich_menu == parts[3]:
                    st.default_rich_menu = None
            return 200, {}, {}, None
        if len(parts) == 6 and parts[:5] == ["v2", "bot", "user", "all", "richmenu"] and method == "POST":
            with st.lock:
                if parts[5] not in st.rich_menus or parts[5] not in st.rich_menu_images:
                    return 400, {"message": "must upload richmenu image before applying it to user"}, {}, None
                st.default_rich_menu = parts[5]
            return 200, {}, {}, None
        if path == "/v2/bot/user/all/richmenu" and method == "GET":
            with st.lock:
                if st.default_rich_menu is None:
                    return 404, {"message": "no default richmenu"}, {}, None
                return 200, {"richMenuId": st.default_rich_menu}, {}, None
        return 404, {"message": "Not found"}, {}, None

    @staticmethod
    def _rich_menu_ok(data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        size = data.get("size") or {}
        if size.get("width") != 2500 or size.get("height") not in (843, 1686):
            return False
        areas = data.get("areas")
        if not isinstance(areas, list) or not 1 <= len(areas) <= 20:
            return False
        return isinstance(data.get("chatBarText"), str) and len(data["chatBarText"]) <= 14


def message_texts(message: dict[str, Any]) -> list[str]:
    """The readable texts of one sent message (text, altText and Flex text components)."""
    out: list[str] = []
    if message.get("type") == "text":
        out.append(message.get("text", ""))
    elif message.get("type") == "flex":
        out.append(message.get("altText", ""))

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("type") in ("text", "span") and isinstance(node.get("text"), str):
                    out.append(node["text"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(message.get("contents"))
    return out


# --------------------------------------------------------------------------------------------- admin (bench)


class _AdminHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        fake: FakeLineApi = self.server.fake
        parts = urlsplit(self.path)
        if parts.path == "/requests":
            query = parse_qs(parts.query)
            since = int(query.get("since", ["0"])[0])
            with fake.state.lock:
                recs = fake.state.requests[since:]
                total = len(fake.state.requests)
            if query.get("compact"):  # what a benchmark needs, cheap to send
                out = []
                for r in recs:
                    body = r.json if r.path.startswith("/v2/bot/message/") else None
                    out.append({"t": r.t, "path": r.path, "status": r.status,
                                "json": {k: body.get(k) for k in ("replyToken", "to")} if isinstance(body, dict)
                                else None})
                self._json(200, {"total": total, "requests": out})
            else:
                self._json(200, {"total": total, "requests": [r.to_dict() for r in recs]})
        else:
            self._json(404, {"message": "not found"})

    def do_POST(self) -> None:
        fake: FakeLineApi = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        path = urlsplit(self.path).path
        if path == "/fault":
            mode = data.get("mode", "status")
            if mode == "slow":
                fake.slow(data.get("prefix", "/"), float(data.get("delay", 1)), times=data.get("times"))
            elif mode == "drop":
                fake.drop(data.get("prefix", "/"), times=data.get("times"))
            else:
                fake.fail(data.get("prefix", "/"), int(data.get("status", 500)), times=data.get("times"),
                          retry_after=data.get("retry_after"))
        elif path == "/clear":
            fake.clear_faults()
        elif path == "/down":
            seconds = data.get("seconds")
            if seconds:
                fake.down_for(float(seconds))
            else:
                fake.go_down()
        elif path == "/up":
            fake.come_up()
        elif path == "/reset":
            fake.reset()
        elif path == "/content":
            fake.add_content(data["id"], base64.b64decode(data["data"]), data.get("content_type", "image/jpeg"))
        else:
            self._json(404, {"message": "not found"})
            return
        self._json(200, {"ok": True, "up": fake.is_up})


def serve_admin(fake: FakeLineApi, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), _AdminHandler)
    server.daemon_threads = True
    server.fake = fake  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True, name="fake-line-admin").start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="fake LINE Messaging API for tests and benchmarks")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--admin-port", type=int, default=9101)
    parser.add_argument("--access-token", default=TEST_ACCESS_TOKEN)
    args = parser.parse_args()
    fake = FakeLineApi(port=args.port, access_token=args.access_token).start()
    serve_admin(fake, args.admin_port)
    print(f"fake LINE API on {fake.url} (admin on http://127.0.0.1:{args.admin_port})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()


# --------------------------------------------------------------------------------------------- test harness


def line_env(fake: FakeLineApi, **extra: str) -> dict[str, str]:
    """Environment that points the service's LINE channel at the fake (no background lanes by default)."""
    return {
        "LINE_CHANNEL_SECRET": TEST_CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TEST_ACCESS_TOKEN,
        "LINE_API_BASE_URL": fake.url,
        "LINE_DATA_API_BASE_URL": fake.url,
        "LINE_LIFF_ID": TEST_LIFF_ID,
        "LINE_LANES": "0",
        "LINE_RETRY_BASE_SECONDS": "0.05",
        "LINE_RETRY_CAP_SECONDS": "0.4",
        "LINE_CONNECT_TIMEOUT": "0.5",
        "LINE_READ_TIMEOUT": "1.0",
        "LINE_LOADING_AFTER_SECONDS": "0.3",
        **extra,
    }


def make_line_harness(env: dict[str, str], monkeypatch: Any, fake: FakeLineApi, **extra: str) -> LineHarness:
    """create_app + the LINE channel (init_app) over the test database, pointed at the fake."""
    from bot.line import init_app
    from helpdesk import migrate
    from helpdesk.app import create_app

    for key, value in {**env, **line_env(fake, **extra)}.items():
        monkeypatch.setenv(key, value)
    app = create_app({"TESTING": True})
    services = app.extensions["helpdesk"]
    migrate.upgrade(services.engine)
    services.knowledge()  # the real engine (built once per process and shared by the services)
    init_app(app)
    return LineHarness(app, fake)


class LineHarness:
    """The web app with the LINE channel on, the fake LINE API, and helpers to post and process events."""

    def __init__(self, app: Any, fake: FakeLineApi) -> None:
        from bot.line.runtime import runtime_for

        self.app = app
        self.fake = fake
        self.services = app.extensions["helpdesk"]
        self.rt = runtime_for(self.services)
        self.client = app.test_client()

    def post(self, *events: dict[str, Any], body: bytes | None = None, signature: str | None = None,
             secret: str = TEST_CHANNEL_SECRET, headers: dict[str, str] | None = None) -> Any:
        for e in events:
            self.fake.track(e)
        data = body if body is not None else webhook_body(events)
        hdrs = signed_headers(data, secret)
        if signature is not None:
            hdrs["X-Line-Signature"] = signature
        hdrs.update(headers or {})
        return self.client.post("/line/webhook", data=data, headers={k: v for k, v in hdrs.items() if v is not None})

    def pending_ids(self) -> list[int]:
        from sqlalchemy import select

        from helpdesk.db import session_scope
        from tickets.models import InboundEvent

        with session_scope(self.services.session_factory) as s:
            return list(s.scalars(select(InboundEvent.id).where(InboundEvent.status == "pending",
                                                                InboundEvent.source == "line")
                                  .order_by(InboundEvent.id)))

    def process(self) -> list[str]:
        """Process every pending LINE event as a background lane does (answer delivered at once)."""
        import json as _json

        from bot.line.runtime import LaneItem
        from helpdesk.db import session_scope
        from tickets.models import InboundEvent

        out = []
        for event_id in self.pending_ids():
            with session_scope(self.services.session_factory) as s:
                row = s.get(InboundEvent, event_id)
                raw = _json.loads(row.payload)
            out.append(self.rt.process_now(LaneItem(event_id, raw, "")))
        return out

    def close(self) -> None:
        self.rt.close()
        self.services.dispose()

    def deliver(self) -> Any:
        from bot import outbox

        return outbox.deliver_due(self.services.engine, {"line": self.rt.transport})

    def send(self, *events: dict[str, Any]) -> list[Recorded]:
        """Post, process, and return the requests that reached the fake meanwhile."""
        before = len(self.fake.requests())
        response = self.post(*events)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.process()
        return self.fake.requests()[before:]

    def say(self, uid: str, text: str) -> list[str]:
        """A user writes `text`; returns the texts the bot sent back."""
        recs = self.send(text_event(text, uid))
        return self.fake.texts([r for r in recs if 200 <= r.status < 300 and r.path in ("/v2/bot/message/reply", "/v2/bot/message/push")])
