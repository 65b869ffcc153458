"""Signed REST trading: ``create_order``, ``cancel_order``, ``fetch_order``,
``fetch_open_orders``, ``fetch_my_trades`` for spot (``/api/v3``), USD-M
(``/fapi/v1``) and COIN-M (``/dapi/v1``).

The same unified ``Order``/``Trade`` structures and the same order-safety
rules as the WS API methods: every order carries a client order id, and an
unknown outcome (HTTP 5xx, ``-1007``, a timeout or a connection lost after
sending) is resolved by looking the order up by that id (``order_outcome``) —
the request is never sent twice. Calls go through the client's one
``BinanceRest``, so their weight counts in the budget snapshots are fetched
within, and a throttled answer is a ``RateLimitExceeded`` with ``retry_after``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import msgspec

from ..._arguments import check_params
from ..._credentials import Credentials
from ..._exceptions import (
    CcxtproSyncError,
    IPBanned,
    OrderNotFound,
    ProtocolError,
    RateLimitExceeded,
)
from ..._structures import Order, Trade
from ..._sync.base_client import BaseClient
from .order_outcome import (
    DEFAULT_RECV_WINDOW_MS,
    STALE_MARGIN_MS,
    Action,
    SentOrder,
    check_answer,
    is_unknown_outcome,
    resolve,
)
from .private_parsers import parse_my_trade, parse_order_result
from .private_wire import OrderResult, TradeResult
from .rest_market import check_limit, check_since
from .ws_api_requests import new_order_params, order_ref

if TYPE_CHECKING:
    from ..._structures import Market
    from .market_data import MarketData
    from .markets import Markets
    from .rest import BinanceRest
    from .wire import Product

__all__ = ["REST_TRADING_PATHS", "BinanceRestTrading"]

#: Per product: (order, openOrders, trades).
REST_TRADING_PATHS: Final[dict[str, tuple[str, str, str]]] = {
    "spot": ("/api/v3/order", "/api/v3/openOrders", "/api/v3/myTrades"),
    "usdm": ("/fapi/v1/order", "/fapi/v1/openOrders", "/fapi/v1/userTrades"),
    "coinm": ("/dapi/v1/order", "/dapi/v1/openOrders", "/dapi/v1/userTrades"),
}

_decode_order = msgspec.json.Decoder(OrderResult).decode
_decode_orders = msgspec.json.Decoder(list[OrderResult]).decode
_decode_trades = msgspec.json.Decoder(list[TradeResult]).decode


class BinanceRestTrading(BaseClient):
    """Signed REST order methods (see module docstring); a base of ``BinanceTrading``."""

    if TYPE_CHECKING:  # provided by the trading and market-data clients
        product: Product
        rest: BinanceRest
        _recv_window: int | None
        _markets: Markets | None

        @property
        def data(self) -> MarketData: ...

        def market(self, symbol: str) -> Market: ...

        def load_markets(self, reload: bool = False) -> dict[str, Market]: ...

        def _require_credentials(self) -> Credentials: ...

        def fetch_time(
            self, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
        ) -> int: ...

    # -- plumbing ------------------------------------------------------------------------
    def _rest_ready(self) -> Credentials:
        """Credentials and markets, and no request while Binance asked us to hold off."""
        self._check_usable()
        credentials = self._require_credentials()
        if self._markets is None:
            self.load_markets()
        wait = self.rest.held_until - time.monotonic()
        if wait > 0:
            banned = self.rest.held_by_ban  # a 418: the IP is banned, say so
            raise (IPBanned if banned else RateLimitExceeded)(
                f"{self.name}: Binance "
                + ("banned this IP" if banned else "asked us to wait")
                + f" for {wait:.1f}s more (not sent)",
                retry_after=wait,
            )
        return credentials

    def _rest_number(self) -> Any:
        return self.data.markets.number

    def _rest_order(self, market: Market, body: bytes) -> Order:
        try:
            result = _decode_order(body)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as error:
            # typed, so an order request's caller resolves it like a lost reply
            # (RecursionError: a reply nested deeper than msgspec recurses)
            raise ProtocolError(f"unreadable order reply: {error}") from None
        return parse_order_result(result, market, self._rest_number())

    def _server_ms(self) -> float:
        return time.time() * 1000 + self.rest.time_offset_ms

    def _rest_order_call(
        self,
        action: Action,
        method: str,
        market: Market,
        params: dict[str, Any],
        timeout: float | None,
        *,
        client_id: str | None,
        order_id: str | None = None,
    ) -> Order:
        """One signed order request, sent once; an unknown outcome is resolved."""
        credentials = self._rest_ready()
        deadline = time.monotonic() + self._timeout(timeout)
        path = REST_TRADING_PATHS[self.product][0]
        window = self._recv_window or DEFAULT_RECV_WINDOW_MS
        sent_ms = self._server_ms()  # the request's timestamp is taken just after this
        try:
            body = self.rest.signed_raw(
                method,
                path,
                credentials,
                params,
                recv_window=self._recv_window,
                timeout=max(0.001, deadline - time.monotonic()),  # the caller's, not the client's
            )
            return check_answer(self._rest_order(market, body), client_id, order_id)
        except CcxtproSyncError as error:
            if not is_unknown_outcome(error):
                raise
            cause = error
        # The stamp is taken after the call returned (an upper bound of the timestamp).
        sent = SentOrder(
            action,
            market.symbol,
            client_id,
            max(sent_ms, self._server_ms()) + window + STALE_MARGIN_MS,
            order_id,
            sent_at_ms=sent_ms - 1,  # the timestamp is truncated to whole ms
        )
        # Leave time to reach a decision even if the request used the whole timeout.
        deadline = max(deadline, time.monotonic() + (window + STALE_MARGIN_MS) / 1000 + 1.0)
        ref = {"clientOrderId": client_id} if client_id is not None else None

        def query(remaining: float) -> Order:
            found = self.fetch_order(order_id or "0", market.symbol, ref, timeout=remaining)
            return check_answer(found, client_id, order_id)  # another order: look again

        def server_time(remaining: float) -> float:
            # the server's clock itself: our estimate moves with a step of the local clock
            return float(self.fetch_time(timeout=remaining))

        return resolve(
            sent,
            query,
            self._server_ms,
            deadline,
            cause,
            server_time=server_time,
            closed=lambda: self._closed,
        )

    # -- public methods ----------------------------------------------------------------------
    def create_order(  # noqa: PLR0917 - CCXT's positional signature
        self,
        symbol: str,
        type: str,  # noqa: A002 - CCXT's argument name
        side: str,
        amount: Any,
        price: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """Place an order over signed REST (``POST .../order``); unified ``params`` as
        ``create_order_ws``. Carries a client order id (yours or a generated one); a lost
        reply is resolved to the real ``Order``, ``OrderNotPlaced`` or
        ``OrderStatusUnknown``, never by sending the order again."""
        self._rest_ready()
        market = self.market(symbol)
        p = new_order_params(market, type, side, amount, price, params)
        cid = str(p["newClientOrderId"])
        order = self._rest_order_call("create", "POST", market, p, timeout, client_id=cid)
        self._order_placed(order)
        return order

    def _order_placed(self, order: Order) -> None:
        """Hook: an order this client placed (cancel-on-disconnect tracks it)."""

    def cancel_order(
        self,
        id: str,  # noqa: A002 - CCXT's argument name
        symbol: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """Cancel one order (``DELETE .../order``; by ``id`` or ``params={"clientOrderId":
        ...}``). An already cancelled (or expired) order is returned as it is; a lost
        reply is resolved as for ``cancel_order_ws``."""
        self._rest_ready()
        market = self.market(symbol)
        p = order_ref(market, id, params)
        given = p.get("origClientOrderId")
        try:
            return self._rest_order_call(
                "cancel",
                "DELETE",
                market,
                p,
                timeout,
                client_id=None if given is None else str(given),
                order_id=None if given is not None else str(id),
            )
        except OrderNotFound as error:
            ref = {"clientOrderId": given} if given is not None else None
            try:
                order = self.fetch_order(id, symbol, ref, timeout=timeout)
            except CcxtproSyncError:
                raise error from None
            if order.status in ("canceled", "expired"):
                return order
            raise

    def fetch_order(
        self,
        id: str,  # noqa: A002 - CCXT's argument name
        symbol: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """One order (``GET .../order``), by ``id`` or ``params={"clientOrderId": ...}``;
        ``timeout`` bounds each read of the answer (default: the client's)."""
        seconds = None if timeout is None else self._timeout(timeout)
        credentials = self._rest_ready()
        market = self.market(symbol)
        path = REST_TRADING_PATHS[self.product][0]
        body = self.rest.signed_raw(
            "GET",
            path,
            credentials,
            order_ref(market, id, params),
            recv_window=self._recv_window,
            timeout=seconds,
        )
        return self._rest_order(market, body)

    def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Order]:
        """Open orders (of ``symbol``, or all) over signed REST."""
        since, limit = check_since(since), check_limit(limit)
        self._timeout(timeout)  # checked; REST calls are bounded by the HTTP timeout
        credentials = self._rest_ready()
        p: dict[str, Any] = check_params(params)
        if symbol is not None:
            p["symbol"] = self.market(symbol).id
        path = REST_TRADING_PATHS[self.product][1]
        body = self.rest.signed_raw("GET", path, credentials, p, recv_window=self._recv_window)
        orders = []
        for result in _decode_orders(body):
            market = self.data.markets.get(result.symbol)
            if market is not None and (since is None or (result.time or 0) >= since):
                orders.append(parse_order_result(result, market, self._rest_number()))
        return orders[-limit:] if limit else orders

    def fetch_my_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """Your trades in ``symbol`` (spot ``myTrades``, futures ``userTrades``)."""
        since, limit = check_since(since), check_limit(limit)
        self._timeout(timeout)  # checked; REST calls are bounded by the HTTP timeout
        credentials = self._rest_ready()
        market = self.market(symbol)
        p: dict[str, Any] = {"symbol": market.id, "startTime": since, "limit": limit}
        p.update(check_params(params))
        path = REST_TRADING_PATHS[self.product][2]
        body = self.rest.signed_raw("GET", path, credentials, p, recv_window=self._recv_window)
        return [parse_my_trade(row, market, self._rest_number()) for row in _decode_trades(body)]
