"""The LINE Messaging API through the official SDK (linebot.v3), pointed at LINE_API_BASE_URL and
LINE_DATA_API_BASE_URL, with every failure sorted into what the outbox needs to know:

- `not_sent`: the request certainly did not take effect (connection refused, 429, 401) → retry;
- `ambiguous`: it may have taken effect (timeout after sending, dropped connection, 5xx) → retry with care;
- `permanent`: it never will (400, 403, 404, 413, 422) → give up and record why.

The SDK's own urllib3 retries are switched off: the outbox owns retrying.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bot.line.options import LineOptions

log = logging.getLogger(__name__)


class LineApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None, outcome: str = "not_sent",
                 retry_after: float | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome  # "not_sent" | "ambiguous" | "permanent"
        self.retry_after = retry_after
        self.body = body or ""

    @property
    def permanent(self) -> bool:
        return self.outcome == "permanent"

    @property
    def invalid_reply_token(self) -> bool:
        return self.status == 400 and "reply token" in self.body.lower()

    @property
    def retry_key_accepted(self) -> bool:
        """409 on a push with X-Line-Retry-Key: an earlier request with this key was accepted."""
        return self.status == 409


@dataclass(frozen=True)
class Sent:
    message_ids: list[str]

    @property
    def first_id(self) -> str | None:
        return self.message_ids[0] if self.message_ids else None


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            from datetime import UTC, datetime

            return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def classify(exc: BaseException) -> LineApiError:
    """Turn an SDK/urllib3 failure into a LineApiError."""
    if isinstance(exc, LineApiError):
        return exc
    if isinstance(exc, ApiException) and exc.status:
        status = int(exc.status)
        body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes | bytearray) else str(exc.body or "")
        try:
            message = json.loads(body).get("message") or body
        except (ValueError, AttributeError):
            message = body
        text = f"LINE API {status}: {str(message)[:300]}"
        if status == 429:
            return LineApiError(text, status=status, outcome="not_sent", retry_after=_retry_after(exc.headers),
                                body=body)
        if status == 401:
            # A wrong or expired channel access token: nothing was sent; retry once it is fixed.
            return LineApiError(text, status=status, outcome="not_sent", retry_after=60.0, body=body)
        if status == 409:
            return LineApiError(text, status=status, outcome="permanent", body=body)
        if status >= 500:
            return LineApiError(text, status=status, outcome="ambiguous", retry_after=_retry_after(exc.headers),
                                body=body)
        return LineApiError(text, status=status, outcome="permanent", body=body)
    if isinstance(exc, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError):
        return LineApiError(f"LINE API unreachable: {type(exc).__name__}", outcome="not_sent")
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        reason = exc.reason
        if isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError):
            return LineApiError(f"LINE API unreachable: {type(reason).__name__}", outcome="not_sent")
        return LineApiError(f"LINE API request failed: {type(reason).__name__}", outcome="ambiguous")
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return LineApiError(f"LINE API request failed: {type(exc).__name__}", outcome="ambiguous")
    if isinstance(exc, ApiException):  # status 0: e.g. an SSL error before sending
        return LineApiError(f"LINE API request failed: {exc.reason}", outcome="not_sent")
    return LineApiError(f"LINE API client error: {type(exc).__name__}: {exc}", outcome="permanent")


class _Prebuilt:
    """One message already in the Messaging API's JSON form (bot.line.flex builds them so, and the tests
    check each kind against the SDK's own models): the SDK's ApiClient serialises it as it is, instead
    of parsing a large Flex tree into models only to turn it back into the same JSON."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return self.data


def _prebuilt(messages: list[dict[str, Any]]) -> list[Any]:
    return [_Prebuilt(m) for m in messages]


def _trusted(method: Any) -> Any:
    """The SDK method without its pydantic `validate_arguments` wrapper, which validates (and copies)
    the request model on every call: pydantic documents `raw_function` for callers that trust their
    arguments. Ours are built here from JSON the tests check against the SDK's own models, and the SDK's
    ApiClient still serialises and sends them."""
    return getattr(method, "raw_function", method)


_REPLY = _trusted(MessagingApi.reply_message_with_http_info)
_PUSH = _trusted(MessagingApi.push_message_with_http_info)
_LOADING = _trusted(MessagingApi.show_loading_animation_with_http_info)


class LineClient:
    """Thread-safe wrapper; one per process."""

    def __init__(self, options: LineOptions) -> None:
        self.options = options
        self._api_client = self._make_client(options.api_base_url)
        self._data_client = self._make_client(options.data_api_base_url)
        self.api = MessagingApi(self._api_client)
        self.blob = MessagingApiBlob(self._data_client)
        self._lock = threading.Lock()

    def _make_client(self, host: str) -> ApiClient:
        config = Configuration(host=host, access_token=self.options.access_token or "")
        config.retries = False
        config.connection_pool_maxsize = 16
        return ApiClient(config)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.options.connect_timeout, self.options.read_timeout)

    def close(self) -> None:
        for client in (self._api_client, self._data_client):
            with contextlib.suppress(Exception):
                client.close()

    # ---- messages
    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> Sent:
        request = ReplyMessageRequest.construct(reply_token=reply_token, messages=_prebuilt(messages),
                                                notification_disabled=False)
        try:
            response = _REPLY(self.api, request, _return_http_data_only=True, _request_timeout=self.timeout)
        except Exception as exc:
            raise classify(exc) from exc
        return Sent([m.id for m in (response.sent_messages or [])])

    def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> Sent:
        request = PushMessageRequest.construct(to=to, messages=_prebuilt(messages), notification_disabled=False)
        try:
            response = _PUSH(self.api, request, x_line_retry_key=retry_key, _return_http_data_only=True,
                             _request_timeout=self.timeout)
        except Exception as exc:
            raise classify(exc) from exc
        return Sent([m.id for m in (response.sent_messages or [])])

    def show_loading(self, chat_id: str, seconds: int = 20) -> None:
        """LINE's typing indicator in a one-to-one chat (best effort; it stops when a message arrives)."""
        request = ShowLoadingAnimationRequest(chatId=chat_id, loadingSeconds=seconds)
        try:
            _LOADING(self.api, request, _return_http_data_only=True, _request_timeout=(1.0, 2.0))
        except Exception as exc:
            raise classify(exc) from exc

    # ---- content (data API)
    def fetch_content(self, message_id: str, limit: int) -> tuple[bytes | None, str, int]:
        """Download a message's content, reading at most `limit` bytes.

        Returns (data or None when larger than the limit, content type, size seen). Streams through the
        SDK client's own connection pool so that a large video never sits whole in memory.
        """
        url = f"{self.options.data_api_base_url}/v2/bot/message/{message_id}/content"
        headers = {"Authorization": f"Bearer {self.options.access_token}", "User-Agent": "ict-helpdesk"}
        pool = self._data_client.rest_client.pool_manager
        try:
            response = pool.request("GET", url, headers=headers, preload_content=False, retries=False,
                                    timeout=urllib3.Timeout(connect=self.options.connect_timeout,
                                                            read=max(self.options.read_timeout, 30.0)))
        except Exception as exc:
            raise classify(exc) from exc
        try:
            if response.status != 200:
                body = response.read(2000)
                raise classify(ApiException(status=response.status, reason=body.decode("utf-8", "replace")))
            content_type = (response.headers.get("Content-Type") or "application/octet-stream").split(";")[0]
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                return None, content_type, int(declared)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.stream(64 * 1024):
                size += len(chunk)
                if size > limit:
                    return None, content_type, size
                chunks.append(chunk)
            return b"".join(chunks), content_type, size
        except LineApiError:
            raise
        except Exception as exc:
            raise classify(exc) from exc
        finally:
            response.release_conn()

    # ---- rich menu
    def install_rich_menu(self, menu: dict[str, Any], image: bytes, content_type: str = "image/png",
                          *, replace_named: bool = True) -> str:
        """Create the menu, upload its image, make it the default; remove older menus with the same name."""
        try:
            request = RichMenuRequest.from_dict(menu)
            self.api.validate_rich_menu_object(request, _request_timeout=self.timeout)
            rich_menu_id = self.api.create_rich_menu(request, _request_timeout=self.timeout).rich_menu_id
            self.blob.set_rich_menu_image(rich_menu_id, bytearray(image), _headers={"Content-Type": content_type},
                                          _request_timeout=(self.options.connect_timeout, 60.0))
            self.api.set_default_rich_menu(rich_menu_id, _request_timeout=self.timeout)
            if replace_named:
                for old in self.api.get_rich_menu_list(_request_timeout=self.timeout).richmenus or []:
                    if old.name == menu.get("name") and old.rich_menu_id != rich_menu_id:
                        self.api.delete_rich_menu(old.rich_menu_id, _request_timeout=self.timeout)
        except Exception as exc:
            raise classify(exc) from exc
        return rich_menu_id

    # ---- LIFF
    def verify_id_token(self, id_token: str, channel_id: str) -> dict[str, Any]:
        """Check a LIFF ID token with LINE (POST /oauth2/v2.1/verify) and return its claims."""
        pool = self._api_client.rest_client.pool_manager
        try:
            response = pool.request(
                "POST", f"{self.options.api_base_url}/oauth2/v2.1/verify",
                fields={"id_token": id_token, "client_id": channel_id}, encode_multipart=False, retries=False,
                timeout=urllib3.Timeout(connect=self.options.connect_timeout, read=self.options.read_timeout))
        except Exception as exc:
            raise classify(exc) from exc
        if response.status != 200:
            raise LineApiError(f"ID token rejected ({response.status})", status=response.status, outcome="permanent",
                               body=response.data.decode("utf-8", "replace"))
        claims = json.loads(response.data)
        if not isinstance(claims, dict) or not str(claims.get("sub", "")).startswith("U"):
            raise LineApiError("ID token without a LINE user", outcome="permanent")
        return claims
