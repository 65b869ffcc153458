"""Trading over Deribit's websocket: the ``*_ws`` methods of the Deribit client.

Every order request carries a ``label`` (the client order id) and a
``valid_until`` (server time + 5 s, ``options.orderValidFor``). When its reply is
lost (the connection dropped, or the reply did not come in time) the request is
never sent again:
the order is looked up by label until the outcome is known — the ``Order``,
``OrderNotPlaced`` once ``valid_until`` has passed with no such order, or
``OrderStatusUnknown`` when the lookup cannot finish in time (or a label is
shared by several orders). A lost cancel or edit reply is resolved the same way,
with ``private/get_order_state`` of the order id (rules in ``order_lookup``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..._arguments import check_limit, check_params, check_since
from ..._exceptions import (
    CcxtproSyncError,
    ClientClosed,
    ExchangeError,
    NetworkError,
    NotSupported,
    OrderNotPlaced,
    OrderStatusUnknown,
    ProtocolError,
)
from ..._structures import Balances, Market, Order, Position, Trade
from .errors import TIMED_OUT
from .markets import SETTLE_CURRENCIES, DeribitMarkets, parse_market
from .order_lookup import (
    DEFAULT_VALID_FOR_MS,
    STALE_MARGIN_MS,
    lookup_request,
    resolve_cancel,
    resolve_create,
    resolve_edit,
    with_deadline,
)
from .orders import (
    OrderRequest,
    cancel_all_params,
    cancel_params,
    create_order_request,
    edit_order_params,
    order_state_params,
    positions_params,
)
from .parsers import (
    parse_balance,
    parse_cancelled,
    parse_order,
    parse_order_result,
    parse_orders,
    parse_positions,
    parse_trades,
)
from .queries import (
    Requests,
    history_requests,
    open_orders_requests,
    since_limit,
    trades_requests,
)

__all__ = ["DeribitTrading"]

#: Pause between two label lookups while the outcome is still open.
_LOOKUP_PAUSE = 0.25
#: Instruments one read may load (``public/get_instrument``) when it names some the
#: client's markets do not list, and how many may be loaded that way in all.
_NEW_PER_READ = 4
_MOST_LATE_MARKETS = 256
#: Longer than any Deribit instrument name: a name this long is not looked up.
_LONGEST_NAME = 64

_log = logging.getLogger("ccxtpro_sync")


def _lookup_budget(seconds: float, valid_for_ms: int) -> float:
    """How long the look-ups of a lost reply may take: the caller's ``timeout`` and the
    request's window (``valid_until`` + the margin), plus a second for the last answer."""
    return seconds + (valid_for_ms + STALE_MARGIN_MS) / 1000 + 1.0


def _read_order(
    read: Callable[[], Order], *, label: str | None = None, order_id: str | None = None
) -> Order:
    """The order an order request's reply gives, if it is the one the request named.

    The request was acted on (a reply came), so a reply that cannot be read, or that
    names another order (a reply meant for another request), leaves its outcome
    unknown: ``ProtocolError``, which the caller resolves like a lost reply.
    """
    try:
        order = read()
    except (CcxtproSyncError, LookupError, TypeError, ValueError, ArithmeticError) as error:
        raise ProtocolError(f"deribit order reply cannot be read: {error}") from error
    if label is not None and order.clientOrderId != label:
        raise ProtocolError(
            f"deribit order reply names label {order.clientOrderId!r}, not {label!r}"
        )
    if order_id is not None and order.id != order_id:
        raise ProtocolError(f"deribit order reply names order {order.id!r}, not {order_id!r}")
    return order


def _closed_unknown(
    cause: ClientClosed, action: str, symbol: str, label: str | None, order_id: str | None = None
) -> OrderStatusUnknown:
    """``close()`` ended an order request that had left: its outcome is unknown."""
    return OrderStatusUnknown(
        f"deribit {action} of order {order_id or label!r}: the client was closed before "
        "the reply came; look the order up before doing anything else",
        client_order_id=label,
        symbol=symbol,
        action=action,
        cause=cause,
        order_id=order_id,
    )


def _late(error: ExchangeError) -> bool:
    """A ``timed_out`` answer to an order request: it reached the matching engine after
    its ``valid_until`` and was not processed. Only one look-up, sent once the request
    went stale, makes that ``OrderNotPlaced``: 13888 is known from one third-party
    source only, and a server answering it for a request it did execute must not make
    sending again look safe (the order it finds is returned instead)."""
    return getattr(error, "code", None) == TIMED_OUT


def _not_processed(
    error: ExchangeError, action: str, symbol: str, label: str | None, order_id: str | None = None
) -> OrderNotPlaced:
    what = "the order was not placed" if action == "create" else "the edit was not applied"
    return OrderNotPlaced(
        f"deribit {action} of order {order_id or label!r}: it reached the matching engine "
        f"after its valid_until and {what} ({error}); sending it again is safe",
        client_order_id=label,
        symbol=symbol,
        action=action,
        order_id=order_id,
    )


def _instrument_names(results: Iterable[Any]) -> list[str]:
    """The instrument names read results carry, each once, in order: of a list of
    orders, trades or positions, of ``{"trades": [...]}``/``{"order": ...}``, or of
    one order. Shallow on purpose: the parsers reject anything else."""
    items: list[Any] = []
    for result in results:
        if isinstance(result, dict):
            inner = result.get("trades", result.get("order", result))
            items += inner if isinstance(inner, list) else [inner]
        elif isinstance(result, list):
            items += result
    names = (i.get("instrument_name") for i in items if isinstance(i, dict))
    return list(dict.fromkeys(n for n in names if isinstance(n, str)))


class DeribitTrading:
    """Mixin of the Deribit client (listed after ``AdapterClient`` in its bases)."""

    _server_offset_ms: int | None = None
    #: How long an order request may take to reach the matching engine (``valid_until``),
    #: and so how soon a lost reply can be resolved (``options.orderValidFor``).
    _valid_for_ms: int = DEFAULT_VALID_FOR_MS
    #: Look-ups made because a read named an instrument not loaded (bounded:
    #: ``_MOST_LATE_MARKETS``), and the names refused so far (never asked again).
    _late_markets: int = 0
    _refused_names: set[str] | None = None

    if TYPE_CHECKING:  # provided by the client, which comes first in the MRO
        _closed_event: threading.Event
        _markets: DeribitMarkets | None
        _markets_lock: threading.Lock

        def request(
            self, method: str, params: Any = None, *, timeout: float | None = None
        ) -> Any: ...
        def market(self, symbol: str) -> Market: ...
        def _loaded_markets(self) -> DeribitMarkets: ...
        def _timeout(self, timeout: float | None) -> float: ...

    # -- server time -----------------------------------------------------------------------
    def _server_now_ms(self, timeout: float) -> int:
        """Server time from one ``public/get_time`` (its offset to our clock is kept).

        The offset is the server's time minus our clock when the reply arrived: the
        server read its clock before replying, so this never puts the server ahead of
        itself. (The midpoint of send and reply did: the wait for the connection, its
        login and pacing counted as half a network trip, pushing the estimate seconds
        ahead after a slow login; user data from those seconds was then taken for
        history, and a ``valid_until`` could be judged passed before it had.) Too early
        by at most the reply's trip is the safe side: ``valid_until`` comes a little
        sooner, and an order is declared not placed a little later."""
        if self._server_offset_ms is None:
            return self._read_server_time(timeout)
        return int(time.time() * 1000) + self._server_offset_ms

    def _read_server_time(self, timeout: float) -> int:
        """The server's time from one ``public/get_time``, its offset to our clock kept."""
        server = self.request("public/get_time", {}, timeout=timeout)
        received = time.time() * 1000
        if isinstance(server, bool) or not isinstance(server, int):
            raise ProtocolError(f"deribit public/get_time result is not a time: {server!r:.40}")
        self._server_offset_ms = int(server - received)
        return server

    # -- instruments listed after the markets were loaded -----------------------------------
    def _market_by_id(self, name: str, timeout: float, refused: set[str]) -> Market:
        """The market of instrument ``name``; one the client's markets do not list (listed
        after they were loaded) is loaded with ``public/get_instrument`` and kept.

        An order's state names its instrument, and without a market the order cannot
        be read: asking again would only get the same answer until the caller's time
        ran out. A name the exchange refuses, or answers with something that is not
        that instrument, goes into ``refused`` and is a ``ProtocolError`` (the answer
        naming it is unreadable, resolved like a lost one), not asked for twice.
        A combo has no unified symbol: ``NotSupported``, whose outcome the caller
        reports as unknown."""
        markets = self._loaded_markets()
        known = markets.find_id(name)
        if known is not None:
            return known
        what = f"deribit order names instrument {name[:40]!r}"
        if name in refused:
            raise ProtocolError(f"{what}, which the exchange does not list")
        try:
            raw = self.request("public/get_instrument", {"instrument_name": name}, timeout=timeout)
        except ExchangeError as error:  # not listed (10020) or refused: not a network fault
            refused.add(name)
            raise ProtocolError(f"{what}, which the exchange does not list: {error}") from error
        try:
            market = parse_market(raw, number=markets.number)
        except (CcxtproSyncError, LookupError, TypeError, ValueError, ArithmeticError) as error:
            refused.add(name)
            raise ProtocolError(f"{what}; its get_instrument answer is unreadable") from error
        if market is None:
            raise NotSupported(f"{what}, a combo: this client has no market for it")
        if market.id != name:
            refused.add(name)
            raise ProtocolError(f"{what}; get_instrument answered {market.id[:40]!r}")
        with self._markets_lock:
            current = self._markets or markets
            found = current.find_id(name)
            if found is not None:
                return found  # another thread loaded it meanwhile
            self._markets = current.with_market(market)
        return market

    def _markets_naming(self, results: Iterable[Any], timeout: float | None) -> DeribitMarkets:
        """The client's markets, with the instruments that read ``results`` name but the
        markets do not list loaded (``_market_by_id``), within bounds a hostile server
        cannot stretch: at most ``_NEW_PER_READ`` look-ups per read and
        ``_MOST_LATE_MARKETS`` look-ups in the client's life (refused ones included; a
        refused name is not asked again, a name longer than any instrument's never). A
        name past them, refused, or a combo stays unknown, and its read is ``BadSymbol``."""
        markets = self._loaded_markets()
        with self._markets_lock:
            if self._refused_names is None:
                self._refused_names = set()
            refused = self._refused_names  # client-wide: a refused name is not asked again
            unknown = [
                n
                for n in _instrument_names(results)
                if len(n) <= _LONGEST_NAME and n not in refused and markets.find_id(n) is None
            ]
        if not unknown:
            return markets
        seconds = self._timeout(timeout)
        deadline = time.monotonic() + seconds
        for name in unknown[:_NEW_PER_READ]:
            left = deadline - time.monotonic()
            with self._markets_lock:  # every look-up counts, refused ones included
                if left <= 0 or self._late_markets >= _MOST_LATE_MARKETS:
                    break
                self._late_markets += 1
            try:
                self._market_by_id(name, left, refused)
            except (ProtocolError, NotSupported) as error:  # stays unknown: BadSymbol
                _log.warning("deribit: a read names an instrument not loaded: %s", error)
        return self._loaded_markets()

    def _order_markets(self, result: Any, timeout: float) -> DeribitMarkets:
        """The client's markets, with the instrument an order reply names loaded
        when they do not list it (an unreadable reply is left to the parser)."""
        order = result.get("order", result) if isinstance(result, dict) else None
        if isinstance(result, list) and result:
            order = result[0]
        name = order.get("instrument_name") if isinstance(order, dict) else None
        if isinstance(name, str):
            self._market_by_id(name, timeout, set())
        return self._loaded_markets()

    # -- orders ----------------------------------------------------------------------------
    def create_order_ws(  # noqa: PLR0917 - CCXT argument order
        self,
        symbol: str,
        type: str,  # noqa: A002 - CCXT's name
        side: str,
        amount: Any,
        price: Any = None,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """Place an order (``private/buy``/``private/sell``). ``params``: ``clientOrderId``
        (the label), ``postOnly``, ``reduceOnly``, ``timeInForce``, ``triggerPrice``,
        ``stopLossPrice``, ``takeProfitPrice``, ``trailingAmount``. A lost reply is
        resolved by label (see the module docstring), never by sending again."""
        market = self.market(symbol)
        request = create_order_request(market, type, side, amount, price, params)
        seconds = self._timeout(timeout)
        with_deadline(request, self._server_now_ms(seconds), self._valid_for_ms)
        closed = self._closed_event.is_set()  # then the request is never sent
        left = time.monotonic()  # before the request leaves
        try:
            result = self.request(request.method, request.params, timeout=seconds)
            return _read_order(
                lambda: parse_order_result(result, self._loaded_markets())[0], label=request.label
            )
        except ClientClosed as error:
            if closed:
                raise
            raise _closed_unknown(error, "create", market.symbol, request.label) from error
        except NetworkError:  # ProtocolError included: the reply could not be read
            return self._resolve_lost(request, market, seconds, left)
        except ExchangeError as error:
            if not _late(error):
                raise
            try:  # confirmed by label, not taken on the server's word (see _late)
                order = self._resolve_lost(request, market, seconds, left)
            except OrderNotPlaced:
                raise _not_processed(error, "create", market.symbol, request.label) from error
            _log.warning("deribit: timed_out (13888) for order %r, placed all the same", order.id)
            return order

    def _resolve_lost(
        self, request: OrderRequest, market: Market, seconds: float, left: float
    ) -> Order:
        """Resolve a lost create; ``left``: ``time.monotonic()`` before it was sent."""
        method, params = lookup_request(request, market)
        number = self._loaded_markets().number
        # An order created before the request left reuses its label (judged on sent_at)
        server_now, sent_at = self._lookup_clock(left)

        def resolve(found: Any, now_ms: int) -> Order | None:
            return resolve_create(found, request, market, now_ms, number, sent_at_ms=sent_at[0])

        return self._resolve_loop(
            method,
            params,
            resolve,
            seconds,
            label=request.label,
            symbol=market.symbol,
            server_now=server_now,
        )

    def _lookup_clock(self, left: float) -> tuple[Callable[[float], int], list[int]]:
        """The server's clock for the look-ups of a lost reply, and ``sent_at``: filled
        by the first reading with the server's time when the request left.

        Every "too old" and "went stale" judgement takes the server's clock, not our
        estimate of it (an offset measured once: the local clock may have stepped
        since, and a request still in flight would be judged stale, a real order
        older). So the first reading asks the server afresh (and refreshes the offset
        for the next ones), and goes back by the time since ``left``
        (``time.monotonic()`` before the request was sent; counted to after the
        reading: never later than the instant it left)."""
        sent_at: list[int] = []

        def server_now(timeout: float) -> int:
            if sent_at:
                return self._server_now_ms(timeout)
            now = self._read_server_time(timeout)
            sent_at.append(now - math.ceil((time.monotonic() - left) * 1000))
            return now

        return server_now, sent_at

    def _resolve_loop(
        self,
        method: str,
        params: dict[str, Any],
        resolve: Callable[[Any, int], Order | None],
        seconds: float,
        *,
        label: str | None,
        symbol: str,
        action: str = "create",
        order_id: str | None = None,
        server_now: Callable[[float], int] | None = None,
    ) -> Order:
        """Ask ``method`` until ``resolve`` gives the outcome (or raises it), or the
        caller's time is up: ``OrderStatusUnknown``. Never re-sends the order request.
        ``server_now(timeout)``: the server's time (default: our estimate of it)."""
        now_ms = server_now or self._server_now_ms
        deadline = time.monotonic() + _lookup_budget(seconds, self._valid_for_ms)
        closed: ClientClosed | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed_event.is_set():
                break
            try:
                # the server's time before the look-up is sent: only a look-up sent once
                # the request went stale is final (one answered earlier may arrive late)
                now = now_ms(remaining)
                left = max(0.001, deadline - time.monotonic())
                order = resolve(self.request(method, params, timeout=left), now)
            except ClientClosed as error:  # the outcome stays unknown, not retryable
                closed = error
                break
            except NetworkError:
                order = None  # reconnecting: pause, then ask again while time is left
            if order is not None:
                return order
            if self._closed_event.wait(min(_LOOKUP_PAUSE, max(remaining, 0.0))):
                break
        why = "the client was closed" if self._closed_event.is_set() else "time ran out"
        raise OrderStatusUnknown(
            f"deribit {action} of order {order_id or label!r}: the reply was lost and the "
            f"lookup did not finish ({why}); look the order up before doing anything else",
            client_order_id=label,
            symbol=symbol,
            action=action,
            order_id=order_id,
            cause=closed,
        )

    def _by_state(
        self,
        order_id: str,
        resolve: Callable[[Any, Market, int], Order | None],
        seconds: float,
        action: str,
        symbol: str,
    ) -> Callable[[Any, int], Order | None]:
        """Adapt a ``get_order_state`` resolver: the market comes from the result (an
        instrument the client has not loaded is loaded, see ``_market_by_id``, within
        the look-ups' time)."""
        refused: set[str] = set()
        deadline = time.monotonic() + _lookup_budget(seconds, self._valid_for_ms)

        def run(found: Any, now_ms: int) -> Order | None:
            name = found.get("instrument_name") if isinstance(found, dict) else None
            if not isinstance(name, str):
                raise ProtocolError("deribit get_order_state result has no instrument_name")
            try:
                left = max(0.001, deadline - time.monotonic())
                market = self._market_by_id(name, left, refused)
            except NotSupported as error:  # the order exists, on a market we cannot show
                raise OrderStatusUnknown(
                    f"deribit {action} of order {order_id!r}: the reply was lost and {error}; "
                    "look the order up before doing anything else",
                    client_order_id=None,
                    symbol=symbol,
                    action=action,
                    order_id=order_id,
                    cause=error,
                ) from error
            return resolve(found, market, now_ms)

        return run

    def edit_order_ws(  # noqa: PLR0917 - CCXT argument order
        self,
        id: str,  # noqa: A002 - CCXT's name
        symbol: str | None = None,
        type: str | None = None,  # noqa: A002 - CCXT's name
        side: str | None = None,
        amount: Any = None,
        price: Any = None,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """Change an open order's amount/price (``private/edit``, with a ``valid_until``).
        A lost reply is resolved with ``private/get_order_state`` (see
        ``order_lookup``): the edited ``Order``, ``OrderNotPlaced(action="edit")`` or
        ``OrderStatusUnknown``; the edit is never sent again."""
        edit = edit_order_params(id, amount, price, params)
        seconds = self._timeout(timeout)
        with_deadline(
            OrderRequest("private/edit", edit, ""), self._server_now_ms(seconds), self._valid_for_ms
        )
        closed = self._closed_event.is_set()  # then the request is never sent
        left = time.monotonic()  # before the request leaves
        try:
            result = self.request("private/edit", edit, timeout=seconds)
            return _read_order(
                lambda: parse_order_result(result, self._order_markets(result, seconds))[0],
                order_id=str(id),
            )
        except ClientClosed as error:
            if closed:
                raise
            raise _closed_unknown(error, "edit", symbol or "", None, str(id)) from error
        except ExchangeError as error:
            if not _late(error):
                raise
            try:  # confirmed by the order's state, not taken on the server's word
                order = self._resolve_lost_edit(id, edit, symbol or "", seconds, left)
            except OrderNotPlaced:
                raise _not_processed(error, "edit", symbol or "", None, str(id)) from error
            _log.warning("deribit: timed_out (13888) for an edit of %r, applied all the same", id)
            return order
        except NetworkError:  # ProtocolError included: the reply could not be read
            return self._resolve_lost_edit(id, edit, symbol or "", seconds, left)

    def _resolve_lost_edit(
        self, order_id: str, edit: dict[str, Any], symbol: str, seconds: float, left: float
    ) -> Order:
        """Resolve a lost edit; ``left``: ``time.monotonic()`` before it was sent."""
        number = self._loaded_markets().number
        server_now, _ = self._lookup_clock(left)  # valid_until judged on the server's clock
        resolve = self._by_state(
            order_id,
            lambda found, market, now: resolve_edit(found, edit, market, now, number),
            seconds,
            "edit",
            symbol,
        )
        return self._resolve_loop(
            "private/get_order_state",
            order_state_params(order_id),
            resolve,
            seconds,
            label=None,
            symbol=symbol,
            action="edit",
            order_id=order_id,
            server_now=server_now,
        )

    def cancel_order_ws(
        self,
        id: str,  # noqa: A002 - CCXT's name
        symbol: str | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """Cancel one order (``private/cancel``). A lost reply is resolved with
        ``private/get_order_state`` (see ``order_lookup``): the order once it is not
        open, ``OrderNotPlaced(action="cancel")`` if it is still open after the
        request went stale, or ``OrderStatusUnknown``; the cancel is never sent again."""
        seconds = self._timeout(timeout)
        closed = self._closed_event.is_set()  # then the request is never sent
        left = time.monotonic()  # before the request leaves
        try:
            result = self.request("private/cancel", cancel_params(id), timeout=seconds)
            return _read_order(
                lambda: parse_orders(result, self._order_markets(result, seconds))[0],
                order_id=str(id),
            )
        except ClientClosed as error:
            if closed:
                raise
            raise _closed_unknown(error, "cancel", symbol or "", None, str(id)) from error
        except NetworkError:  # ProtocolError included: the reply could not be read
            number = self._loaded_markets().number
            # stale: the order window + the margin after it left, on the server's clock
            server_now, sent_at = self._lookup_clock(left)
            window = self._valid_for_ms + STALE_MARGIN_MS
            resolve = self._by_state(
                id,
                lambda found, market, now: resolve_cancel(
                    found, id, market, sent_at[0] + window, now, number
                ),
                seconds,
                "cancel",
                symbol or "",
            )
            return self._resolve_loop(
                "private/get_order_state",
                order_state_params(id),
                resolve,
                seconds,
                label=None,
                symbol=symbol or "",
                action="cancel",
                order_id=id,
                server_now=server_now,
            )

    def cancel_all_orders_ws(
        self, symbol: str | None = None, *, timeout: float | None = None
    ) -> list[Order]:
        """Cancel every open order (of ``symbol``, else of every instrument, trigger
        orders included); returns the cancelled orders, as CCXT does (Deribit's
        ``detailed: true`` reply)."""
        method, params = cancel_all_params(self.market(symbol) if symbol is not None else None)
        return parse_cancelled(
            self.request(method, params, timeout=timeout), self._loaded_markets()
        )

    def fetch_order_ws(
        self,
        id: str,  # noqa: A002 - CCXT's name
        symbol: str | None = None,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Order:
        """One order's state (``private/get_order_state``; ``params`` go with it)."""
        if symbol is not None:
            self.market(symbol)  # an unknown symbol is BadSymbol before any request
        request = {**check_params(params), **order_state_params(id)}
        result = self.request("private/get_order_state", request, timeout=timeout)
        markets = self._markets_naming([result], timeout)
        return parse_order(result, markets.by_id(result["instrument_name"]), markets.number)

    def _fetch_all(self, requests: Requests, timeout: float | None) -> list[Any]:
        """The results of ``requests``, in order (each waits for the previous: Deribit
        paces per account, and the list is short)."""
        seconds = self._timeout(timeout)
        return [self.request(method, params, timeout=seconds) for method, params in requests]

    def _fetch_orders(self, requests: Requests, timeout: float | None) -> list[Order]:
        """Every order the replies to ``requests`` carry, each once (by id), in order."""
        results = self._fetch_all(requests, timeout)
        markets = self._markets_naming(results, timeout)
        found = [o for r in results for o in parse_orders(r, markets)]
        return list({o.id: o for o in found}.values())

    def _market_or_none(self, symbol: str | None) -> Market | None:
        return self.market(symbol) if symbol is not None else None

    def fetch_open_orders_ws(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Order]:
        """Open orders (of ``symbol``; else of ``params["currency"]``, else all), oldest
        first. Deribit's open-order lists take no time or count, so ``since``/``limit``
        apply to the reply as CCXT's rule says (see ``queries.since_limit``);
        ``params`` go to Deribit (e.g. ``type``: ``limit``, ``trigger_all``)."""
        since, limit = check_since(since), check_limit(limit)
        requests = open_orders_requests(self._market_or_none(symbol), params)
        return since_limit(self._fetch_orders(requests, timeout), since, limit)

    def fetch_closed_orders_ws(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Order]:
        """Orders no longer open, filled or cancelled (``private/get_order_history_by_*``:
        ``limit`` → ``count``), of ``symbol`` (else of ``params["currency"]``, else of
        every settlement currency), oldest first. Deribit keeps recent orders 30 min
        unless ``params`` ask for ``historical``."""
        since = check_since(since)
        requests = history_requests(self._market_or_none(symbol), since, limit, params)
        return since_limit(self._fetch_orders(requests, timeout), since, limit)

    def fetch_orders_ws(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Order]:
        """Open and closed orders together (``fetch_open_orders_ws`` and
        ``fetch_closed_orders_ws``), oldest first, ``since``/``limit`` as CCXT's rule says."""
        since, limit = check_since(since), check_limit(limit)
        market = self._market_or_none(symbol)
        requests = [
            *open_orders_requests(market, params),
            *history_requests(market, since, limit, params),
        ]
        return since_limit(self._fetch_orders(requests, timeout), since, limit)

    def fetch_my_trades_ws(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> list[Trade]:
        """The account's trades (``private/get_user_trades_by_instrument``, or
        ``..._by_currency`` without ``symbol``: ``params["currency"]`` or every
        settlement currency), oldest first. ``since`` → ``start_timestamp``, ``limit`` →
        ``count`` (Deribit's default is 10), ``params["until"]`` → ``end_timestamp``;
        other ``params`` go to Deribit (e.g. ``historical``)."""
        since, limit = check_since(since), check_limit(limit)
        requests = trades_requests(self._market_or_none(symbol), since, limit, params)
        results = self._fetch_all(requests, timeout)
        markets = self._markets_naming(results, timeout)
        trades = [
            t
            for result in results
            for t in parse_trades(
                result.get("trades", []) if isinstance(result, dict) else result, markets
            )
        ]
        return since_limit(trades, since, limit)

    def fetch_balance_ws(
        self, currencies: Sequence[str] = SETTLE_CURRENCIES, *, timeout: float | None = None
    ) -> Balances:
        """Balances from ``private/get_account_summary`` of each currency."""
        summaries = [
            self.request("private/get_account_summary", {"currency": c}, timeout=timeout)
            for c in currencies
        ]
        return parse_balance(summaries, self._loaded_markets().number)

    def fetch_positions_ws(
        self, symbols: Sequence[str] | None = None, *, timeout: float | None = None
    ) -> list[Position]:
        """Open positions (of ``symbols``)."""
        result = self.request("private/get_positions", positions_params(), timeout=timeout)
        positions = parse_positions(result, self._markets_naming([result], timeout))
        if symbols is None:
            return positions
        wanted = {self.market(s).symbol for s in symbols}
        return [p for p in positions if p.symbol in wanted]
