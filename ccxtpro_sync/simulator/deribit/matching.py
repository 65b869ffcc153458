"""The matching engine: private orders against the true book (reference §7).

Runs on the server's loop thread only (no locks). Every call returns the user
events it caused (``UserEvent``) and the public events (book change, trades) so
the server can fan them out after the reply.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Final

from . import errors as E
from .accounts import Account, Order, Position, notional
from .errors import RpcError, bad_param
from .instruments import Catalog, Instrument
from .market import MakerFill, Market
from .triggers import TRIGGER_TYPES, parse_trigger

TYPES: Final = ("limit", "market", "market_limit", *TRIGGER_TYPES)
UNSERVED_TYPES: Final = ("trailing_stop",)
MAX_USER_TRADES: Final = 50_000
TIME_IN_FORCE: Final = ("good_til_cancelled", "good_til_day", "fill_or_kill", "immediate_or_cancel")
Events = list[tuple[str, str, Any]]


@dataclass
class UserEvent:
    """Something an account's user channels announce."""

    account: str
    kind: str  # order | trade | portfolio
    inst: Instrument | None
    payload: Any


def _number(params: dict[str, Any], name: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_param(name, "must be a number")
    if not math.isfinite(value):
        raise bad_param(name, "must be a finite number")
    return float(value)


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise bad_param(name, "must be a boolean")
    return value


class Matching:
    """Accounts, orders, positions and fills."""

    def __init__(self, catalog: Catalog, market: Market) -> None:
        self.catalog = catalog
        self.market = market
        self.accounts: dict[str, Account] = {}
        self._ids = itertools.count(31_547_000_001)

    # -- helpers -------------------------------------------------------------------------
    def instrument(self, params: dict[str, Any]) -> Instrument:
        name = params.get("instrument_name")
        if name is None:
            raise bad_param("instrument_name", "value must be present")
        inst = self.catalog.get(name)
        if inst is None:
            raise RpcError(E.INVALID_INSTRUMENT, {"param": "instrument_name", "reason": "unknown"})
        return inst

    def find(self, account: Account, params: dict[str, Any]) -> Order:
        order_id = params.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            raise bad_param("order_id", "value must be present")
        order = account.orders.get(order_id)
        if order is None:
            raise RpcError(E.ORDER_NOT_FOUND, {"param": "order_id", "reason": "not found"})
        return order

    def _new_id(self, inst: Instrument) -> str:
        n = next(self._ids)
        return str(n) if inst.settle == "BTC" else f"{inst.settle}-{n}"

    def _fee_rate(self, inst: Instrument, maker: bool) -> float:
        return inst.maker_commission if maker else inst.taker_commission

    def available(self, account: Account, currency: str) -> float:
        return self.summary(account, currency)["available_funds"]  # type: ignore[no-any-return]

    # -- placing -------------------------------------------------------------------------
    def place(
        self, account: Account, direction: str, params: dict[str, Any], conn_id: int | None,
        now_ms: int,
    ) -> tuple[dict[str, Any], list[UserEvent], Events]:  # fmt: skip
        """``private/buy``/``private/sell``: validate, match, rest the remainder."""
        inst = self.instrument(params)
        amount = self._amount(inst, params)
        order_type = params.get("type", "limit")
        if order_type in UNSERVED_TYPES:
            raise bad_param("type", "trigger orders are not served by the local exchange")
        if order_type not in TYPES:
            raise bad_param("type", "invalid value")
        tif = params.get("time_in_force", "good_til_cancelled")
        if tif not in TIME_IN_FORCE:
            raise bad_param("time_in_force", "invalid value")
        price = _number(params, "price")
        trigger = parse_trigger(order_type, params, inst, _number(params, "trigger_price"))
        if order_type in ("limit", "stop_limit", "take_limit"):
            if price is None:
                raise bad_param("price", "value must be present")
            self._check_price(inst, price)
        else:
            price = None
        post_only, reject = _flag(params, "post_only"), _flag(params, "reject_post_only")
        if post_only and (order_type != "limit" or tif != "good_til_cancelled"):
            raise bad_param("post_only", "only for good_til_cancelled limit orders")
        label = params.get("label", "")
        if not isinstance(label, str) or len(label) > 64:
            raise bad_param("label", "must be a string of at most 64 characters")
        reduce_only = _flag(params, "reduce_only")
        pos = account.position(inst)
        sign = 1 if direction == "buy" else -1
        if reduce_only:
            if not pos.size or (pos.size > 0) == (sign > 0):
                raise RpcError(E.OTHER_REJECT, {"reason": "reduce_only", "param": "reduce_only"})
            amount = min(amount, abs(pos.size))
        bid, ask = self.market.states[inst.name].book.best()
        if post_only and price is not None:
            opposite = ask if direction == "buy" else bid
            if opposite is not None and (
                price >= opposite[0] if direction == "buy" else price <= opposite[0]
            ):
                if reject:
                    raise RpcError(E.POST_ONLY_REJECT, {"reason": "post_only_reject"})
                # re-priced just inside the spread, one tick away from the opposite best
                price = self.market._step_price(inst, opposite[0], -sign)
        if price is not None:
            ref_price = price
        elif trigger is not None:
            ref_price = trigger[1]
        else:
            opposite = ask if direction == "buy" else bid
            ref_price = opposite[0] if opposite else self.market.mark_price(inst.name)
        opening = 0.0 if self._reduces(pos, sign) else amount
        need = notional(inst, opening, ref_price)
        if inst.kind != "option" or direction == "sell":
            need /= inst.max_leverage
        if need > self.available(account, inst.settle) + 1e-12:
            raise RpcError(E.NOT_ENOUGH_FUNDS, {"reason": "not_enough_funds"})
        order = Order(
            self._new_id(inst), account.client_id, inst, direction, amount, price, order_type,
            tif, post_only, reject and post_only, reduce_only, label, now_ms, conn_id,
            remaining=amount, updated=now_ms,
        )  # fmt: skip
        if params.get("max_show") is not None:
            order.max_show = _number(params, "max_show")
        account.orders[order.order_id] = order
        if trigger is not None:
            order.trigger, order.trigger_price = trigger
            order.state, order.triggered = "untriggered", False
            result = {"order": order.to_json(), "trades": []}
            return result, [UserEvent(account.client_id, "order", inst, order.to_json())], []
        return self._execute(account, order, now_ms)

    def fire_triggers(self, now_ms: int) -> tuple[list[UserEvent], Events]:
        """Execute every untriggered order whose condition holds (prices after fills)."""
        user: list[UserEvent] = []
        events: Events = []
        for _ in range(100):  # a fill can trigger more orders; bounded passes
            due = [
                (account, order)
                for account in self.accounts.values()
                for order in account.open_orders()
                if order.state == "untriggered" and self._due(order)
            ]
            if not due:
                break
            for account, order in due:
                order.state, order.triggered, order.updated = "open", True, now_ms
                _, more_user, more_events = self._execute(account, order, now_ms)
                user += more_user
                events += more_events
        return user, events

    def _due(self, order: Order) -> bool:
        inst, market = order.inst, self.market
        if order.trigger == "index_price":
            level = market.index_price(inst.base)
        elif order.trigger == "mark_price":
            level = market.mark_price(inst.name)
        else:
            level = market.states[inst.name].last_price
        assert order.trigger_price is not None
        rising = (order.direction == "buy") == order.order_type.startswith("stop")
        return level >= order.trigger_price if rising else level <= order.trigger_price

    def _reduces(self, pos: Position, sign: int) -> bool:
        return bool(pos.size) and (pos.size > 0) != (sign > 0)

    def _amount(self, inst: Instrument, params: dict[str, Any]) -> float:
        amount, contracts = _number(params, "amount"), _number(params, "contracts")
        if amount is None and contracts is None:
            raise bad_param("amount", "value must be present")
        if contracts is not None:
            from_contracts = round(contracts * inst.contract_size, 10)
            if amount is not None and abs(amount - from_contracts) > 1e-9:
                raise bad_param("contracts", "amount and contracts do not match")
            amount = from_contracts
        assert amount is not None
        if amount <= 0:
            raise RpcError(E.INVALID_AMOUNT, {"param": "amount", "reason": "must be positive"})
        if amount < inst.min_trade_amount:
            raise RpcError(E.QTY_TOO_LOW, {"param": "amount", "reason": "below min_trade_amount"})
        if not inst.on_lot(amount):
            raise bad_param("amount", f"must be a multiple of {inst.min_trade_amount}")
        return amount

    @staticmethod
    def _check_price(inst: Instrument, price: float) -> None:
        if price <= 0:
            raise RpcError(E.INVALID_PRICE, {"param": "price", "reason": "must be positive"})
        if not inst.on_tick(price):
            raise RpcError(E.PRICE_WRONG_TICK, {"param": "price", "tick": inst.tick_at(price)})

    def _execute(
        self, account: Account, order: Order, now_ms: int
    ) -> tuple[dict[str, Any], list[UserEvent], Events]:
        """Match ``order.remaining`` as a taker, then rest/cancel the remainder."""
        inst, name = order.inst, order.inst.name
        state = self.market.states[name]
        user: list[UserEvent] = []
        events: Events = []
        limit = order.price
        if order.time_in_force == "fill_or_kill" and not self._fillable(order):
            order.state, order.cancel_reason, order.remaining = "cancelled", None, 0.0
            trades: list[dict[str, Any]] = []
            fills: list[MakerFill] = []
        else:
            # Self-trades are allowed (flagged ``self_trade``), so the book never crosses.
            trades, fills = self.market.take(name, order.direction, order.remaining, now_ms,
                                             limit=limit)  # fmt: skip
        own_trades: list[dict[str, Any]] = []
        for trade in trades:
            maker = next((f for f in fills if f.trade is trade), None)
            own = maker is not None and maker.order.account == account.client_id
            own_trades.append(self._settle(account, order, trade, False, now_ms, self_trade=own))
            order.remaining = round(order.amount - order.filled, 10)
            if maker is not None:
                user += self._maker(maker, now_ms, own)
        if order.state == "open" and order.remaining > 1e-12:
            if order.order_type == "market_limit" and order.filled:
                order.price = trades[-1]["price"]
            if order.price is None or order.time_in_force in (
                "immediate_or_cancel",
                "fill_or_kill",
            ):  # takers never rest: the remainder is cancelled
                order.state = "cancelled"
            else:
                state.book.add_user(order.direction == "buy", order.price, order)
        if order.state != "open":
            order.remaining = 0.0
        self.market.flush(name, now_ms, events)
        if trades:
            events.append(("trades", name, trades))
        user.append(UserEvent(account.client_id, "order", inst, order.to_json()))
        if own_trades:
            user.append(UserEvent(account.client_id, "trade", inst, own_trades))
            user.append(UserEvent(account.client_id, "portfolio", inst, inst.settle))
        return {"order": order.to_json(), "trades": own_trades}, user, events

    def _fillable(self, order: Order) -> bool:
        side = self.market.states[order.inst.name].book.side(order.direction == "sell")
        total = 0.0
        for price in side.prices():
            if order.price is not None and (
                price > order.price if order.direction == "buy" else price < order.price
            ):
                break
            total += side.total(price)
        return total >= order.remaining - 1e-12

    def _settle(
        self, account: Account, order: Order, trade: dict[str, Any], maker: bool, now_ms: int,
        *, self_trade: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """Book a fill on ``account``: position, realised profit, fee; the private trade."""
        inst = order.inst
        price, qty = trade["price"], trade["amount"]
        fee = round(notional(inst, qty, price) * self._fee_rate(inst, maker), 12)
        order.fill(price, qty, fee, now_ms)
        pnl = account.position(inst).apply(qty if order.direction == "buy" else -qty, price)
        account.balances[inst.settle] = account.balances.get(inst.settle, 0.0) + pnl - fee
        private = dict(trade)
        if maker:
            private["direction"] = order.direction
        private.update(
            order_id=order.order_id, order_type=order.order_type, state=order.state,
            fee=fee, fee_currency=inst.settle, liquidity="M" if maker else "T",
            label=order.label, reduce_only=order.reduce_only, post_only=order.post_only,
            profit_loss=round(pnl, 12), matching_id=None, self_trade=self_trade, api=True,
        )  # fmt: skip
        account.trades.append(private)
        if len(account.trades) > MAX_USER_TRADES:  # bounded memory under long runs
            del account.trades[: len(account.trades) - MAX_USER_TRADES]
        return private

    def _maker(self, fill: MakerFill, now_ms: int, self_trade: bool = False) -> list[UserEvent]:
        order: Order = fill.order
        account = self.accounts[order.account]
        private = self._settle(account, order, fill.trade, True, now_ms, self_trade=self_trade)
        return [
            UserEvent(account.client_id, "order", order.inst, order.to_json()),
            UserEvent(account.client_id, "trade", order.inst, [private]),
            UserEvent(account.client_id, "portfolio", order.inst, order.inst.settle),
        ]

    def settle_makers(self, fills: list[MakerFill], now_ms: int) -> list[UserEvent]:
        """Fills of resting orders by the generator's synthetic takers."""
        out: list[UserEvent] = []
        for fill in fills:
            out += self._maker(fill, now_ms)
        return out

    # -- edit / cancel ---------------------------------------------------------------------
    def edit(
        self, account: Account, params: dict[str, Any], now_ms: int
    ) -> tuple[dict[str, Any], list[UserEvent], Events]:
        order = self.find(account, params)
        if order.state == "untriggered":
            return self._edit_untriggered(account, order, params, now_ms)
        if order.state not in ("open",):
            raise RpcError(E.NOT_OPEN_ORDER, {"reason": f"order is {order.state}"})
        inst = order.inst
        amount = self._amount(inst, params) if (
            "amount" in params or "contracts" in params) else order.amount  # fmt: skip
        price = _number(params, "price")
        if price is None:
            price = order.price
        if price is not None:
            self._check_price(inst, price)
        if amount < order.filled:
            raise bad_param("amount", "below the filled amount")
        book = self.market.states[inst.name].book
        assert order.price is not None
        book.remove_user(order.direction == "buy", order.price, order)
        order.amount, order.price, order.replaced = amount, price, True
        order.remaining = round(amount - order.filled, 10)
        order.updated = now_ms
        if "post_only" in params:
            order.post_only = _flag(params, "post_only")
        if "reject_post_only" in params:
            order.reject_post_only = _flag(params, "reject_post_only")
        if order.remaining <= 1e-12:
            order.state, order.remaining = "filled", 0.0
        if order.post_only and price is not None and order.state == "open":
            bid, ask = book.best()
            opposite = ask if order.direction == "buy" else bid
            if opposite is not None and (
                price >= opposite[0] if order.direction == "buy" else price <= opposite[0]
            ):
                if order.reject_post_only:
                    order.state, order.cancel_reason = "cancelled", "edit_post_only_reject"
                    order.remaining = 0.0
                else:
                    sign = 1 if order.direction == "buy" else -1
                    order.price = self.market._step_price(inst, opposite[0], -sign)
        if order.state != "open":
            events: Events = []
            self.market.flush(inst.name, now_ms, events)
            result = {"order": order.to_json(), "trades": []}
            return result, [UserEvent(account.client_id, "order", inst, order.to_json())], events
        return self._execute(account, order, now_ms)

    def _edit_untriggered(
        self, account: Account, order: Order, params: dict[str, Any], now_ms: int
    ) -> tuple[dict[str, Any], list[UserEvent], Events]:
        """A waiting trigger order: new amount, price or trigger price; nothing executes."""
        inst = order.inst
        if "amount" in params or "contracts" in params:
            order.amount = order.remaining = self._amount(inst, params)
        price = _number(params, "price")
        if price is not None and order.price is not None:
            self._check_price(inst, price)
            order.price = price
        trigger_price = _number(params, "trigger_price")
        if trigger_price is not None:
            parsed = parse_trigger(order.order_type, params, inst, trigger_price)
            if parsed is not None:
                order.trigger_price = parsed[1]
        order.replaced, order.updated = True, now_ms
        event = UserEvent(account.client_id, "order", inst, order.to_json())
        return {"order": order.to_json(), "trades": []}, [event], []

    def cancel(
        self, account: Account, order: Order, now_ms: int, reason: str = "user_request"
    ) -> list[UserEvent]:
        """Cancel one open or untriggered order (``11044 not_open_order`` otherwise)."""
        if order.state not in ("open", "untriggered"):
            raise RpcError(E.NOT_OPEN_ORDER, {"reason": f"order is {order.state}"})
        if order.state == "open":
            assert order.price is not None
            self.market.states[order.inst.name].book.remove_user(
                order.direction == "buy", order.price, order
            )
        order.state, order.cancel_reason, order.remaining = "cancelled", reason, 0.0
        order.updated = now_ms
        return [UserEvent(account.client_id, "order", order.inst, order.to_json())]

    def cancel_many(
        self, account: Account, orders: list[Order], now_ms: int, reason: str = "user_request"
    ) -> tuple[list[Order], list[UserEvent], Events]:
        user: list[UserEvent] = []
        events: Events = []
        touched: set[str] = set()
        for order in orders:
            user += self.cancel(account, order, now_ms, reason)
            touched.add(order.inst.name)
        for name in sorted(touched):
            self.market.flush(name, now_ms, events)
        return orders, user, events

    # -- views -----------------------------------------------------------------------------
    def summary(self, account: Account, currency: str) -> dict[str, Any]:
        """``private/get_account_summary`` / ``user.portfolio`` fields for one currency."""
        balance = account.balances.get(currency, 0.0)
        upl = initial = 0.0
        for pos in account.positions.values():
            if pos.inst.settle != currency or not pos.size:
                continue
            mark = self.market.mark_price(pos.inst.name)
            upl += pos.pnl(pos.size, mark)
            initial += notional(pos.inst, abs(pos.size), mark) / pos.inst.max_leverage
        for order in account.open_orders():
            if order.inst.settle == currency and order.price is not None:
                initial += notional(order.inst, order.remaining, order.price) / (
                    order.inst.max_leverage
                )
        equity = balance + upl
        return {
            "currency": currency,
            "balance": round(balance, 10),
            "equity": round(equity, 10),
            "margin_balance": round(equity, 10),
            "available_funds": round(equity - initial, 10),
            "available_withdrawal_funds": round(max(0.0, min(balance, equity - initial)), 10),
            "initial_margin": round(initial, 10),
            "maintenance_margin": round(initial / 2, 10),
            "total_pl": round(upl + sum(
                p.realized for p in account.positions.values() if p.inst.settle == currency), 10),
            "session_upl": round(upl, 10),
            "session_rpl": 0.0,
            "futures_pl": round(upl, 10),
            "options_pl": 0.0,
            "delta_total": 0.0,
            "margin_model": "cross_sm",
            "portfolio_margining_enabled": False,
            "cross_collateral_enabled": False,
            "fee_balance": 0.0,
        }  # fmt: skip
