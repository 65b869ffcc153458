"""The method table: one JSON-RPC request in, one reply and the events it caused out.

Sans-I/O: :meth:`Exchange.call` gets a :class:`~.session.Session`, a parsed
request and the time; it returns an :class:`Outcome` for the server to send
(reply, frames to push after it on this connection, whether to close the
connection) plus the public and user events to fan out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from . import errors as E
from .accounts import Account, Order
from .auth import Auth, Token, has_scope
from .channels import Channel, parse
from .errors import RpcError, bad_param
from .history import order_history
from .instruments import CURRENCIES, Catalog
from .limits import RateLimits
from .market import RESOLUTIONS, Market
from .matching import Events, Matching, UserEvent
from .rpc import Request
from .session import Session

VERSION: Final = "1.2.26"
#: Methods the live API serves over WebSocket only (reference §1).
WS_ONLY: Final = frozenset(
    {
        "public/set_heartbeat", "public/disable_heartbeat", "private/logout",
        "public/subscribe", "public/unsubscribe", "public/unsubscribe_all",
        "private/subscribe", "private/unsubscribe", "private/unsubscribe_all",
        "private/enable_cancel_on_disconnect", "private/disable_cancel_on_disconnect",
    }
)  # fmt: skip
#: Scope each private method needs (reference §2 table).
SCOPES: Final = {
    **dict.fromkeys(
        ("buy", "sell", "edit", "cancel", "cancel_all", "cancel_all_by_instrument",
         "cancel_all_by_currency", "cancel_by_label", "close_position"), ("trade", "read_write")),
    **dict.fromkeys(
        ("get_open_orders", "get_open_orders_by_currency", "get_open_orders_by_instrument",
         "get_open_orders_by_label", "get_order_state", "get_order_state_by_label",
         "get_user_trades_by_instrument", "get_user_trades_by_currency",
         "get_user_trades_by_instrument_and_time", "get_user_trades_by_currency_and_time",
         "get_positions", "get_position", "get_order_history_by_instrument",
         "get_order_history_by_currency"),
        ("trade", "read")),
    "get_account_summary": ("account", "read"),
    "get_cancel_on_disconnect": ("account", "read"),
    "enable_cancel_on_disconnect": ("account", "read_write"),
    "disable_cancel_on_disconnect": ("account", "read_write"),
}  # fmt: skip


@dataclass
class Outcome:
    result: Any = None
    error: RpcError | None = None
    #: ``None`` = send no reply (``private/logout``).
    reply: bool = True
    after: list[tuple[str, Any]] = field(default_factory=list)  # (channel, data) to this session
    close: tuple[int, str, str] | None = None  # (code, reason, why)
    events: Events = field(default_factory=list)
    user: list[UserEvent] = field(default_factory=list)
    subscribed: list[Channel] = field(default_factory=list)
    unsubscribed: list[str] = field(default_factory=list)
    cod_fired: bool = False


def _count(params: dict[str, Any], default: int = 10, most: int = 1000) -> int:
    count = params.get("count", default)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most:
        raise bad_param("count", f"must be an integer from 1 to {most}")
    return count


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_param(name, "must be an integer")
    return value


#: ``type`` filters of the open-order lists and ``cancel_all_by_*`` (reference §7).
ORDER_FILTERS: Final[dict[str, Callable[[Order], bool]]] = {
    "all": lambda o: True,
    "limit": lambda o: o.order_type == "limit",
    "market": lambda o: o.order_type in ("market", "market_limit"),
    "stop": lambda o: o.order_type.startswith("stop"),
    "stop_all": lambda o: o.order_type.startswith("stop"),
    "take": lambda o: o.order_type.startswith("take"),
    "take_all": lambda o: o.order_type.startswith("take"),
    "trigger_all": lambda o: o.trigger is not None,
}


def filtered(orders: list[Order], params: dict[str, Any]) -> list[Order]:
    wanted = params.get("type", "all")
    keep = ORDER_FILTERS.get(wanted) if isinstance(wanted, str) else None
    if keep is None:
        raise bad_param("type", "invalid value")
    return [o for o in orders if keep(o)]


def _require_times(params: dict[str, Any]) -> None:
    """The ``*_and_time`` variants need both ends of the window."""
    for name in ("start_timestamp", "end_timestamp"):
        if _int(params, name) is None:
            raise bad_param(name, "value must be present")


def _no_seq(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if "seq" not in k}


def page(
    rows: list[dict[str, Any]], params: dict[str, Any], seq_key: str = "trade_seq"
) -> dict[str, Any]:
    """Trade paging shared by public and private trade lists (reference §9)."""
    start_seq, end_seq = _int(params, "start_seq"), _int(params, "end_seq")
    start_ts, end_ts = _int(params, "start_timestamp"), _int(params, "end_timestamp")
    count = _count(params)
    sorting = params.get("sorting", "default")
    if sorting not in ("asc", "desc", "default"):
        raise bad_param("sorting", "must be asc, desc or default")
    picked = [
        r
        for r in rows
        if (start_seq is None or r[seq_key] >= start_seq)
        and (end_seq is None or r[seq_key] <= end_seq)
        and (start_ts is None or r["timestamp"] >= start_ts)
        and (end_ts is None or r["timestamp"] <= end_ts)
    ]
    # Ranges start from their lower end; otherwise the newest trades are returned.
    from_start = start_seq is not None or (start_ts is not None and end_ts is None)
    chosen = picked[:count] if from_start else picked[-count:]
    has_more = len(picked) > count
    if sorting == "desc" or (sorting == "default" and not from_start):
        chosen = list(reversed(chosen))
    return {"trades": chosen, "has_more": has_more}


class Exchange:
    """Everything behind the API: catalog, market, matching, auth, limits."""

    def __init__(
        self, catalog: Catalog, market: Market, auth: Auth, limits: RateLimits,
        *, testnet: bool = False, min_heartbeat: float = 10.0,
    ) -> None:  # fmt: skip
        self.catalog, self.market, self.auth, self.limits = catalog, market, auth, limits
        self.matching = Matching(catalog, market)
        self.testnet = testnet
        self.min_heartbeat = min_heartbeat
        for client_id, secret in auth.keys.items():
            self.matching.accounts[client_id] = Account(client_id, secret)
        self.methods: dict[str, Callable[[Session, dict[str, Any], int], Outcome]] = {
            name[3:].replace("__", "/"): getattr(self, name)
            for name in dir(self)
            if name.startswith("do_")
        }

    # -- dispatch ------------------------------------------------------------------------
    def call(self, session: Session, req: Request, now_ms: int) -> Outcome:
        handler = self.methods.get(req.method)
        if handler is None:
            return Outcome(error=RpcError(E.METHOD_NOT_FOUND))
        try:
            if session.http and req.method in WS_ONLY:
                raise RpcError(E.MUST_BE_WEBSOCKET)
            if req.method.startswith("private/") and req.method != "private/logout":
                self._authorise(session, req, now_ms)
            return handler(session, req.params, now_ms)
        except RpcError as err:
            return Outcome(error=err)
        except (TypeError, ValueError, ArithmeticError) as exc:
            # A safety net for input no check above foresaw: an error reply, socket kept.
            return Outcome(error=RpcError(E.ERROR, {"reason": "internal_error",
                                                    "detail": type(exc).__name__}))  # fmt: skip

    def _authorise(self, session: Session, req: Request, now_ms: int) -> None:
        if session.http:
            raise RpcError(E.MUST_BE_WEBSOCKET, "private methods are served over WebSocket only")
        given = req.params.get("access_token")
        token = self.auth.lookup(given) if given is not None else session.token
        if given is not None and token is None:
            raise RpcError(E.UNAUTHORIZED, {"reason": "invalid_token", "param": "access_token"})
        token = self.auth.check(token, session.id, now_ms)
        if given is not None and session.token is not token:
            self._bind(session, token)
        need = SCOPES.get(req.method.split("/", 1)[1])
        if need is not None and not has_scope(token, *need):
            raise RpcError(E.FORBIDDEN, {"reason": f"scope {need[0]}:{need[1]} required"})

    def _bind(self, session: Session, token: Token) -> None:
        account = self.matching.accounts[token.client_id]
        if session.account is not account:
            session.cod = account.cod_default
        session.token, session.account = token, account

    @staticmethod
    def _account(session: Session) -> Account:
        assert session.account is not None
        return session.account

    # -- session ---------------------------------------------------------------------------
    def do_public__test(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        if params.get("expected_result") == "exception":
            raise RpcError(E.ERROR, "exception requested", "error")
        session.test_request_at = None
        return Outcome({"version": VERSION})

    def do_public__get_time(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        return Outcome(now)

    def do_public__hello(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        return Outcome({"version": VERSION})

    def do_public__set_heartbeat(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        interval = params.get("interval")
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise bad_param("interval", "value must be a number")
        if interval < self.min_heartbeat:
            raise bad_param("interval", f"must be not less than {self.min_heartbeat:g}")
        session.heartbeat, session.test_request_at = float(interval), None
        return Outcome("ok")

    def do_public__disable_heartbeat(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        session.heartbeat, session.test_request_at = None, None
        return Outcome("ok")

    def do_public__auth(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        token = self.auth.grant(params, session.id, now)
        if not session.http:
            self._bind(session, token)
        return Outcome(self.auth.result(token, now, params.get("state")))

    def do_private__logout(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        """No reply; the socket is closed and cancel-on-disconnect does not fire."""
        if session.token is not None and params.get("invalidate_token", True):
            self.auth.invalidate_session(session.token)
        session.cod = False
        return Outcome(reply=False, close=(1000, "logout", "logout"))

    def do_private__enable_cancel_on_disconnect(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return self._cod(session, params, True)

    def do_private__disable_cancel_on_disconnect(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return self._cod(session, params, False)

    @staticmethod
    def _scope(params: dict[str, Any]) -> str:
        scope = params.get("scope", "connection")
        if scope not in ("connection", "account"):
            raise bad_param("scope", "must be connection or account")
        return str(scope)

    def _cod(self, session: Session, params: dict[str, Any], on: bool) -> Outcome:
        if self._scope(params) == "account":
            # New connections of the account start with this setting; so does this one.
            self._account(session).cod_default = on
        session.cod = on
        return Outcome("ok")

    def do_private__get_cancel_on_disconnect(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        scope = self._scope(params)
        enabled = self._account(session).cod_default if scope == "account" else session.cod
        return Outcome({"scope": scope, "enabled": enabled})

    # -- subscriptions -----------------------------------------------------------------------
    def _subscribe(self, session: Session, params: dict[str, Any], private: bool) -> Outcome:
        names = params.get("channels")
        if not isinstance(names, list) or not names:
            raise bad_param("channels", "value must be a non-empty list")
        if len(names) > 500:
            raise bad_param("channels", "at most 500 channels per call")
        label = params.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > 16):
            raise bad_param("label", "at most 16 characters")
        parsed = [c for n in names if (c := parse(n, self.catalog)) is not None]
        authed = session.token is not None
        if any(c.raw for c in parsed) and not authed:
            raise RpcError(E.RAW_NOT_AVAILABLE)
        if any(c.private for c in parsed) and not authed:
            raise RpcError(E.UNAUTHORIZED, {"reason": "invalid_token", "param": "access_token"})
        if private and label is not None:
            session.sub_label = label
        out = Outcome([c.name for c in parsed])
        for channel in parsed:
            if channel.name in session.subs:
                continue  # acknowledged again, but no new snapshot
            out.subscribed.append(channel)
            first = self.first_frame(channel)
            if first is not None:
                out.after.append((channel.name, first))
        return out

    def first_frame(self, channel: Channel) -> Any:
        """Snapshot sent right after the ack (book channels only)."""
        if channel.topic == "book":
            assert channel.instrument is not None
            return self.market.states[channel.instrument].book.snapshot()
        return None

    def do_public__subscribe(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        return self._subscribe(session, params, False)

    def do_private__subscribe(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        return self._subscribe(session, params, True)

    def do_public__unsubscribe(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        names = params.get("channels")
        if not isinstance(names, list):
            raise bad_param("channels", "value must be a list")
        gone = [n for n in names if isinstance(n, str) and n in session.subs]
        return Outcome(gone, unsubscribed=gone)

    def do_private__unsubscribe(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return self.do_public__unsubscribe(session, params, now)

    def do_public__unsubscribe_all(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return Outcome("ok", unsubscribed=list(session.subs))

    def do_private__unsubscribe_all(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return self.do_public__unsubscribe_all(session, params, now)

    # -- public market data --------------------------------------------------------------------
    def do_public__get_currencies(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return Outcome([dict(c) for c in CURRENCIES])

    def do_public__get_instruments(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        currency = params.get("currency", "any")  # CCXT omits it: read as ``any``
        if currency not in ("BTC", "ETH", "USDC", "USDT", "EURR", "any"):
            raise bad_param("currency", "invalid value")
        kind = params.get("kind")
        if kind is not None and kind not in (
            "future",
            "option",
            "spot",
            "future_combo",
            "option_combo",
        ):
            raise bad_param("kind", "invalid value")
        expired = params.get("expired", False)
        if not isinstance(expired, bool):
            raise bad_param("expired", "must be a boolean")
        return Outcome([i.to_json() for i in self.catalog.select(currency, kind, expired)])

    def do_public__get_instrument(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return Outcome(self.matching.instrument(params).to_json())

    def do_public__get_order_book(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        inst = self.matching.instrument(params)
        depth = _int(params, "depth") or 20
        if not 1 <= depth <= 10000:
            raise bad_param("depth", "must be from 1 to 10000")
        book = self.market.states[inst.name].book
        out = self.market.ticker(inst.name, now)
        out.update(
            timestamp=book.timestamp,
            change_id=book.change_id,
            bids=book.bids.levels(depth),
            asks=book.asks.levels(depth),
        )
        return Outcome(out)

    def do_public__ticker(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        inst = self.matching.instrument(params)
        return Outcome(self.market.ticker(inst.name, now))

    def do_public__get_last_trades_by_instrument(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        inst = self.matching.instrument(params)
        return Outcome(page(list(self.market.states[inst.name].trades), params))

    def do_public__get_last_trades_by_instrument_and_time(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        _require_times(params)
        return self.do_public__get_last_trades_by_instrument(session, _no_seq(params), now)

    def do_public__get_last_trades_by_currency_and_time(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        _require_times(params)
        return self.do_public__get_last_trades_by_currency(session, params, now)

    def do_public__get_last_trades_by_currency(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        currency, kind = params.get("currency"), params.get("kind", "any")
        rows = sorted(
            (t for s in self.market.states.values()
             if currency in ("any", s.inst.settle) and kind in ("any", s.inst.kind)
             for t in s.trades),
            key=lambda t: (t["timestamp"], t["trade_id"]),
        )  # fmt: skip
        result = page(rows, _no_seq(params))
        return Outcome(result)

    def do_public__get_tradingview_chart_data(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        inst = self.matching.instrument(params)
        start, end = _int(params, "start_timestamp"), _int(params, "end_timestamp")
        if start is None or end is None:
            raise bad_param("start_timestamp" if start is None else "end_timestamp",
                            "value must be present")  # fmt: skip
        resolution = str(params.get("resolution"))
        if resolution not in RESOLUTIONS:
            raise bad_param("resolution", "invalid value")
        bars = self.market.candles(inst.name, resolution, start, end)
        keys = ("volume", "cost", "open", "high", "low", "close")
        out: dict[str, Any] = {k: [b[k] for b in bars] for k in keys}
        out["ticks"] = [b["tick"] for b in bars]
        out["status"] = "ok" if bars else "no_data"
        return Outcome(out)

    def do_public__get_index_price(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        name = params.get("index_name")
        if name not in ("btc_usd", "eth_usd", "btc_usdc", "eth_usdc"):
            raise bad_param("index_name", "invalid value")
        price = self.market.index_price(str(name).split("_")[0].upper())
        return Outcome({"index_price": price, "estimated_delivery_price": price})

    # -- trading -------------------------------------------------------------------------------
    @staticmethod
    def _in_time(params: dict[str, Any], now: int) -> None:
        """Deribit's ``valid_until`` (ms): a request the matching engine gets after it is
        not processed and is answered ``timed_out``."""
        valid_until = params.get("valid_until")
        if valid_until is None:
            return
        if isinstance(valid_until, bool) or not isinstance(valid_until, int):
            raise bad_param("valid_until", "must be an integer timestamp in ms")
        if now > valid_until:
            raise RpcError(E.TIMED_OUT)

    def _trade(self, session: Session, params: dict[str, Any], now: int, direction: str) -> Outcome:
        self._in_time(params, now)
        result, user, events = self.matching.place(
            self._account(session), direction, params, session.id, now
        )
        return Outcome(result, events=events, user=user)

    def do_private__buy(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        return self._trade(session, params, now, "buy")

    def do_private__sell(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        return self._trade(session, params, now, "sell")

    def do_private__close_position(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        """A reduce-only order for the whole position (``type`` limit needs ``price``)."""
        inst = self.matching.instrument(params)
        size = self._account(session).position(inst).size
        if not size:
            raise RpcError(E.OTHER_REJECT, {"reason": "no position", "param": "instrument_name"})
        if params.get("type") not in ("limit", "market"):
            raise bad_param("type", "must be limit or market")
        order = {**params, "amount": abs(size), "reduce_only": True}
        return self._trade(session, order, now, "sell" if size > 0 else "buy")

    def do_private__edit(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        self._in_time(params, now)
        result, user, events = self.matching.edit(self._account(session), params, now)
        return Outcome(result, events=events, user=user)

    def do_private__cancel(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        account = self._account(session)
        order = self.matching.find(account, params)
        _, user, events = self.matching.cancel_many(account, [order], now)
        return Outcome(order.to_json(), events=events, user=user)

    def _cancel_set(
        self, session: Session, params: dict[str, Any], now: int, orders: list[Order]
    ) -> Outcome:
        detailed = params.get("detailed", False)
        done, user, events = self.matching.cancel_many(self._account(session), orders, now)
        result: Any = [o.to_json() for o in done] if detailed else len(done)
        return Outcome(result, events=events, user=user)

    def do_private__cancel_all(self, session: Session, params: dict[str, Any], now: int) -> Outcome:
        return self._cancel_set(session, params, now, self._account(session).open_orders())

    def do_private__cancel_all_by_instrument(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        inst = self.matching.instrument(params)
        orders = [o for o in self._account(session).open_orders() if o.inst is inst]
        return self._cancel_set(session, params, now, filtered(orders, params))

    def do_private__cancel_all_by_currency(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return self._cancel_set(session, params, now, self._by_currency(session, params))

    def do_private__cancel_by_label(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        label = params.get("label")
        orders = [o for o in self._account(session).open_orders() if o.label == label]
        return self._cancel_set(session, params, now, orders)

    def _by_currency(self, session: Session, params: dict[str, Any]) -> list[Order]:
        currency, kind = params.get("currency"), params.get("kind", "any")
        if currency not in ("BTC", "ETH", "USDC", "any"):
            raise bad_param("currency", "invalid value")
        orders = [
            o
            for o in self._account(session).open_orders()
            if currency in ("any", o.inst.settle) and kind in ("any", None, o.inst.kind)
        ]
        return filtered(orders, params)

    def do_private__get_open_orders(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return Outcome([o.to_json() for o in self._account(session).open_orders()])

    def do_private__get_open_orders_by_currency(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return Outcome([o.to_json() for o in self._by_currency(session, params)])

    def do_private__get_open_orders_by_instrument(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        inst = self.matching.instrument(params)
        orders = [o for o in self._account(session).open_orders() if o.inst is inst]
        return Outcome([o.to_json() for o in filtered(orders, params)])

    def do_private__get_open_orders_by_label(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        label = params.get("label")
        orders = self._account(session).open_orders()
        return Outcome([o.to_json() for o in orders if o.label == label])

    def do_private__get_order_state(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        return Outcome(self.matching.find(self._account(session), params).to_json())

    def do_private__get_order_state_by_label(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        label, currency = params.get("label"), params.get("currency")
        if not isinstance(label, str) or not label:
            raise bad_param("label", "value must be present")
        if currency not in ("BTC", "ETH", "USDC"):
            raise bad_param("currency", "value must be present")
        orders = self._account(session).orders.values()
        return Outcome(
            [o.to_json() for o in orders if o.label == label and o.inst.settle == currency]
        )

    def do_private__get_order_history_by_instrument(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        inst = self.matching.instrument(params)
        orders = [o for o in self._account(session).orders.values() if o.inst is inst]
        return Outcome(order_history(orders, params))

    def do_private__get_order_history_by_currency(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        currency, kind = params.get("currency"), params.get("kind", "any")
        if currency not in ("BTC", "ETH", "USDC"):
            raise bad_param("currency", "value must be present")
        orders = [
            o
            for o in self._account(session).orders.values()
            if o.inst.settle == currency and kind in ("any", o.inst.kind)
        ]
        return Outcome(order_history(orders, params))

    def do_private__get_user_trades_by_instrument(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        inst = self.matching.instrument(params)
        rows = [t for t in self._account(session).trades if t["instrument_name"] == inst.name]
        return Outcome(page(rows, params))

    def do_private__get_user_trades_by_instrument_and_time(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        _require_times(params)
        return self.do_private__get_user_trades_by_instrument(session, _no_seq(params), now)

    def do_private__get_user_trades_by_currency_and_time(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        _require_times(params)
        return self.do_private__get_user_trades_by_currency(session, params, now)

    def do_private__get_user_trades_by_currency(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        currency, kind = params.get("currency"), params.get("kind", "any")
        if currency not in ("BTC", "ETH", "USDC", "any"):
            raise bad_param("currency", "invalid value")
        rows = [
            t
            for t in self._account(session).trades
            if currency in ("any", t["fee_currency"])
            and kind in ("any", self.catalog.by_name[t["instrument_name"]].kind)
        ]
        return Outcome(page(rows, _no_seq(params)))

    def do_private__get_positions(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        currency, kind = params.get("currency", "any"), params.get("kind", "any")
        out = []
        for pos in self._account(session).positions.values():
            inst = pos.inst
            if currency in ("any", inst.settle) and kind in ("any", inst.kind) and pos.size:
                out.append(pos.to_json(self.market.mark_price(inst.name),
                                       self.market.index_price(inst.base)))  # fmt: skip
        return Outcome(out)

    def do_private__get_position(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        inst = self.matching.instrument(params)
        pos = self._account(session).position(inst)
        mark = self.market.mark_price(inst.name)
        return Outcome(pos.to_json(mark, self.market.index_price(inst.base)))

    def do_private__get_account_summary(
        self, session: Session, params: dict[str, Any], now: int
    ) -> Outcome:
        currency = params.get("currency")
        if currency not in ("BTC", "ETH", "USDC"):
            raise bad_param("currency", "value must be present")
        out = self.matching.summary(self._account(session), str(currency))
        out["limits"] = self.limits.to_json()
        out["fees"] = []
        return Outcome(out)

    # -- cancel on disconnect ------------------------------------------------------------------
    def cancel_on_disconnect(self, session: Session, now: int) -> tuple[list[UserEvent], Events]:
        """Cancel the open orders this connection created, if its COD is on."""
        account = session.account
        if account is None or not session.cod:
            return [], []
        orders = [o for o in account.open_orders() if o.conn_id == session.id]
        _, user, events = self.matching.cancel_many(account, orders, now, "cancel_on_disconnect")
        return user, events
