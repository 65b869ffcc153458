"""Public REST calls the websocket side needs: exchangeInfo and depth snapshots.

Every call has a timeout and fails with a typed error; the used request
weight reported by Binance (``X-MBX-USED-WEIGHT-1M``) is kept so that
snapshot fetching can stay inside the budget.
"""

from __future__ import annotations

import threading
from typing import Any

import msgspec
import requests

from ..._exceptions import (
    BadRequest,
    BadSymbol,
    CcxtproSyncError,
    ExchangeError,
    ExchangeNotAvailable,
    IPBanned,
    ProtocolError,
    RateLimitExceeded,
    RequestTimeout,
)

#: Paths per product: (exchangeInfo, depth).
PATHS: dict[str, tuple[str, str]] = {
    "spot": ("/api/v3/exchangeInfo", "/api/v3/depth"),
    "usdm": ("/fapi/v1/exchangeInfo", "/fapi/v1/depth"),
    "coinm": ("/dapi/v1/exchangeInfo", "/dapi/v1/depth"),
}


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def http_error(response: requests.Response) -> CcxtproSyncError:
    """The typed error for a failed Binance REST response."""
    status = response.status_code
    code: int | None = None
    msg = response.text[:200]
    try:
        body = msgspec.json.decode(response.content)
        if isinstance(body, dict):
            code = body.get("code")
            msg = str(body.get("msg", msg))
    except msgspec.DecodeError:
        pass
    text = f"HTTP {status} from {response.request.method} {response.url.split('?')[0]}: {msg}"
    if status == 418:
        return IPBanned(text, retry_after=_retry_after(response))
    if status == 429 or code == -1003:
        return RateLimitExceeded(text, retry_after=_retry_after(response))
    if status >= 500:
        return ExchangeNotAvailable(text)
    if code == -1121:
        return BadSymbol(text, code=code)
    if 400 <= status < 500:
        return BadRequest(text, code=code)
    return ExchangeError(text, code=code)


class BinanceRest:
    """A small thread-safe REST client for one product's base URL."""

    def __init__(self, base_url: str, product: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.product = product
        self.timeout = timeout
        self._session = requests.Session()
        self._lock = threading.Lock()
        #: Request weight Binance says this IP used in the current minute (None until known).
        self.used_weight: int | None = None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET and decode JSON."""
        body = self.get_raw(path, params)
        try:
            return msgspec.json.decode(body)
        except msgspec.DecodeError as error:
            raise ProtocolError(f"GET {path}: response is not JSON: {error}") from error

    def get_raw(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """Like ``get`` but returns the body undecoded (for typed decoders)."""
        url = self.base_url + path
        try:
            response = self._session.get(url, params=params, timeout=self.timeout)
        except requests.Timeout as error:
            raise RequestTimeout(f"GET {url} timed out after {self.timeout}s") from error
        except requests.RequestException as error:
            raise ExchangeNotAvailable(f"GET {url} failed: {error}") from error
        weight = response.headers.get("X-MBX-USED-WEIGHT-1M")
        if weight is not None and weight.isdigit():
            self.used_weight = int(weight)
        if response.status_code != 200:
            raise http_error(response)
        return response.content

    def exchange_info(self) -> bytes:
        return self.get_raw(PATHS[self.product][0])

    def depth(self, market_id: str, limit: int) -> bytes:
        return self.get_raw(PATHS[self.product][1], {"symbol": market_id, "limit": limit})

    def close(self) -> None:
        self._session.close()
