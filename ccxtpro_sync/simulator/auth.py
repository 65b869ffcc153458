"""Request authentication for the private side: key lookup, signatures, timing.

Signatures and timing are checked by the exchange's own :mod:`.signatures`, written
from Binance's documented rules and sharing no code with the client's signing
module, so a client signing bug shows up as ``-1022`` instead of being mirrored:

* WS API: the sorted-params payload over exactly the params received.
* REST: the query string followed by the body, as sent, minus the ``signature``
  pair (reference §6.2).

Errors carry Binance's codes and the HTTP-like statuses the WS API documents:
``-2014``/``-2015`` → 401, ``-1021``/``-1022``/``-1102`` → 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import unquote

from .accounts import API_KEY_FORMAT, Accounts, ApiKey
from .rest import ApiError, RestRequest
from .signatures import TimingError, check_request_time, ws_api_signature_ok

BAD_KEY_FORMAT: Final = "API-key format invalid."
REJECTED_KEY: Final = "Invalid API-key, IP, or permissions for action."
_SIGNATURE_PAIR: Final = re.compile(r"(^|&)signature=[^&]*")


class ApiDataError(ApiError):
    """An ``ApiError`` with an ``error.data`` object (rate limits, cancel-replace)."""

    def __init__(
        self, code: int, msg: str, status: int = 400, data: dict[str, Any] | None = None
    ) -> None:
        super().__init__(code, msg, status)
        self.data = data


def missing(name: str) -> ApiError:
    return ApiError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def lookup_key(accounts: Accounts, api_key: Any) -> ApiKey:
    """The enabled key named ``api_key``: ``-2014`` if malformed, ``-2015`` if unknown."""
    if api_key is None or api_key == "":
        raise missing("apiKey")
    if not isinstance(api_key, str) or not API_KEY_FORMAT.match(api_key):
        raise ApiError(-2014, BAD_KEY_FORMAT, 401)
    key = accounts.key(api_key)
    if key is None:
        raise ApiError(-2015, REJECTED_KEY, 401)
    return key


def _number(params: Mapping[str, Any], name: str, required: bool) -> float | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise missing(name)
        return None
    if isinstance(raw, bool):
        raise missing(name)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise missing(name) from None
    return int(value) if value.is_integer() else value


def check_timing(params: Mapping[str, Any], server_ms: float) -> None:
    """``timestamp`` (+ ``recvWindow``) against Binance's rule, as ``ApiError`` s."""
    timestamp = _number(params, "timestamp", True)
    assert timestamp is not None
    window = _number(params, "recvWindow", False)
    try:
        check_request_time(timestamp, server_ms, window)
    except TimingError as error:
        raise ApiError(error.code, error.msg) from None


def verify_ws(params: Mapping[str, Any], accounts: Accounts, server_ms: float) -> ApiKey:
    """A self-signed WS API request: key, timing, then the signature over all params."""
    key = lookup_key(accounts, params.get("apiKey"))
    check_timing(params, server_ms)
    if not params.get("signature"):
        raise missing("signature")
    if not ws_api_signature_ok(params, key.verify):
        raise ApiError(-1022, "Signature for this request is not valid.")
    return key


def rest_payload(query: str, body: bytes) -> tuple[str, str | None]:
    """(signed payload, signature): query then body as sent, the signature pair removed."""
    text = body.decode(errors="replace") if body else ""
    signature: str | None = None
    parts = []
    for raw in (query, text):
        found = _SIGNATURE_PAIR.search(raw)
        if found is not None:
            # Sent percent-encoded (base64 has + / =); Binance decodes it before checking.
            signature = unquote(found.group(0).split("=", 1)[1])
            raw = (raw[: found.start()] + raw[found.end() :]).lstrip("&")  # noqa: PLW2901
        parts.append(raw)
    return parts[0] + parts[1], signature


def verify_rest(
    req: RestRequest, accounts: Accounts, server_ms: float, *, signed: bool = True
) -> ApiKey:
    """A REST request: ``X-MBX-APIKEY`` header, and for SIGNED endpoints timing and the
    signature over query + body (percent-encoded, as sent)."""
    api_key = next((v for k, v in req.headers.items() if k.lower() == "x-mbx-apikey"), None)
    if not api_key:
        raise ApiError(-2014, BAD_KEY_FORMAT, 401)
    key = lookup_key(accounts, api_key)
    if not signed:
        return key
    check_timing(req.params, server_ms)
    payload, signature = rest_payload(req.query, req.body)
    if not signature:
        raise missing("signature")
    if not key.verify.verify(payload, signature):
        raise ApiError(-1022, "Signature for this request is not valid.")
    return key


def require(key: ApiKey, permission: str) -> None:
    if permission not in key.permissions:
        raise ApiError(-2015, REJECTED_KEY, 401)
