"""Matching engine: account orders against the generator's true book and each other.

Account orders that rest are *added to the true book* (through
``MarketGenerator._change``, which assigns update ids), so depth streams, REST
snapshots and ``LocalExchange.book()`` show them. Per price level the book
quantity is therefore "generator liquidity + account orders"; the engine keeps
the account part in FIFO queues beside it.

Price-time priority at a level: account orders first, then generator liquidity.
Book changes and public trades made outside a generator tick (an order placed
over the WS API) are collected in a pending step and published at the start of
the next tick, before that tick's own changes, so diff-depth sequences stay
contiguous.

After every generator step :meth:`Matching.on_step` settles resting account
orders against what the generator's flow did: a level traded *through* fills all
account orders on it; a level traded *into* below the account quantity fills the
shortfall (generator liquidity goes first); a level resized by the generator's
makers below the account quantity is restored (that was not a trade).

Everything runs under the engine lock and is deterministic for a seed.
"""

from __future__ import annotations

import itertools
import random
import string
from collections import deque
from collections.abc import Callable, Iterable
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from .accounts import Account
from .catalog import MarketName, SymbolSpec
from .engine import Engine, now_ms
from .market import ASK, BID, AggTrade, Side, SymbolState, SymbolStep, Trade
from .orders import AccountTrade, Fill, NewOrder, SimOrder
from .rest import ApiError

EIGHT = Decimal("0.00000001")
INSUFFICIENT = "Account has insufficient balance for requested action."


class Sink(Protocol):
    """Receives what the engine did (the user-data layer formats and routes it)."""

    def order_event(self, order: SimOrder, exec_type: str, fill: Fill | None, now: int) -> None: ...

    def spot_account(self, account: Account, assets: Iterable[str], now: int) -> None: ...

    def futures_account(
        self,
        account: Account,
        market: MarketName,
        assets: Iterable[str],
        symbols: Iterable[str],
        *,
        reason: str,
        now: int,
    ) -> None: ...


def _q8(value: Decimal) -> Decimal:
    return value.quantize(EIGHT, rounding=ROUND_DOWN)


class Matching:
    """Orders of every account on every market (see module docstring)."""

    def __init__(self, engine: Engine, sink: Sink, seed: int) -> None:
        self.engine = engine
        self.sink = sink
        self._rng = random.Random(f"{seed}:orders")
        self._order_ids = {
            m: itertools.count(self._rng.randint(10**8, 9 * 10**8)) for m in engine.generators
        }
        self._execution_ids = itertools.count(self._rng.randint(10**6, 10**7))
        #: market -> symbol -> side -> price -> FIFO of resting account orders
        self._resting: dict[MarketName, dict[str, dict[Side, dict[int, deque[SimOrder]]]]] = {
            m: {} for m in engine.generators
        }
        self.orders: dict[MarketName, dict[int, SimOrder]] = {m: {} for m in engine.generators}
        self.trades: dict[tuple[int, MarketName], list[AccountTrade]] = {}
        self._pending: dict[MarketName, dict[str, SymbolStep]] = {m: {} for m in engine.generators}
        self._spot_touched: dict[int, tuple[Account, set[str]]] = {}
        engine.step_hooks.append(self.on_step)

    # -- helpers ------------------------------------------------------------------------------
    def state(self, market: MarketName, symbol: str) -> SymbolState:
        return self.engine.generators[market].states[symbol]

    def next_execution_id(self) -> int:
        return next(self._execution_ids)

    def new_client_id(self) -> str:
        return "".join(self._rng.choices(string.ascii_letters + string.digits, k=22))

    def _levels(self, market: MarketName, symbol: str, side: Side) -> dict[int, deque[SimOrder]]:
        per_symbol = self._resting[market].setdefault(symbol, {BID: {}, ASK: {}})
        return per_symbol[side]

    def _own(self, market: MarketName, symbol: str, side: Side, price: int) -> int:
        queue = self._levels(market, symbol, side).get(price)
        return sum(o.remaining for o in queue) if queue else 0

    def _step(self, market: MarketName, symbol: str) -> SymbolStep:
        return self._pending[market].setdefault(symbol, SymbolStep(symbol))

    def _set_level(
        self, st: SymbolState, step: SymbolStep, side: Side, price: int, qty: int
    ) -> None:
        book = st.book
        before = (book.best(BID), book.best(ASK))
        self.engine.generators[st.market]._change(st, step, side, price, max(0, qty))
        if (book.best(BID), book.best(ASK)) != before or price in before:
            step.top_changed = True

    def mark_price(self, market: MarketName, symbol: str) -> Decimal:
        """The mark price the ``markPrice`` stream shows (the true book's mid)."""
        st = self.state(market, symbol)
        return st.mid() * st.spec.tick_size

    def open_orders(
        self, account: Account, market: MarketName, symbol: str | None = None
    ) -> list[SimOrder]:
        return [
            o
            for o in self.orders[market].values()
            if o.account is account and o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def find(
        self,
        account: Account,
        market: MarketName,
        symbol: str,
        order_id: int | None,
        client_id: str | None,
    ) -> SimOrder | None:
        if order_id is not None:
            order = self.orders[market].get(order_id)
            if order is None or order.account is not account or order.symbol != symbol:
                return None
            return order if client_id is None or order.client_order_id == client_id else None
        found = [
            o
            for o in self.orders[market].values()
            if o.account is account and o.symbol == symbol and o.client_order_id == client_id
        ]
        open_ones = [o for o in found if o.is_open]
        candidates = open_ones or found
        return candidates[-1] if candidates else None

    def account_trades(self, account: Account, market: MarketName) -> list[AccountTrade]:
        return self.trades.get((account.uid, market), [])

    # -- placing ------------------------------------------------------------------------------
    def place(self, account: Account, req: NewOrder) -> SimOrder:
        """Accept, match and (maybe) rest an order; raises ``ApiError`` on rejection."""
        market, symbol = req.market, req.symbol
        st = self.state(market, symbol)
        now = now_ms()
        client_id = req.client_order_id or self.new_client_id()
        if any(o.client_order_id == client_id for o in self.open_orders(account, market, symbol)):
            # spot -2010 "Duplicate order sent."; futures -4116 DUPLICATED_CLIENT_ORDER_ID
            raise ApiError(
                -2010 if market == "spot" else -4116,
                "Duplicate order sent." if market == "spot" else "ClientOrderId is duplicated.",
            )
        order = SimOrder(
            market,
            symbol,
            next(self._order_ids[market]),
            client_id,
            account,
            req.side,
            req.type,
            req.time_in_force,
            req.price or 0,
            req.lots or 0,
            now,
            orig_quote_qty=req.quote_qty or Decimal(0),
            update_time=now,
            reduce_only=req.reduce_only,
        )
        crosses = self._crosses(order, st)
        if order.type == "LIMIT_MAKER" and crosses:
            raise ApiError(-2010, "Order would immediately match and take.")
        if order.time_in_force == "GTX" and crosses:
            raise ApiError(
                -5022,
                "Due to the order could not be executed as maker, the Post "
                "Only order will be rejected. The order will not be recorded "
                "in the order history",
            )
        if market == "spot":
            self._reserve_spot(order, st)
        else:
            self._check_futures(order, st)
        order.working_time = now
        self.orders[market][order.order_id] = order
        self.sink.order_event(order, "NEW", None, now)
        if order.time_in_force == "FOK" and self._available(order, st) < order.orig_lots:
            self._finish(order, "EXPIRED", now)
        else:
            self._take(order, st, now)
            if order.is_open:
                if order.type == "MARKET" or order.time_in_force in ("IOC", "FOK"):
                    self._finish(order, "EXPIRED", now)
                else:
                    self._rest(order, st)
        self._flush(now)
        return order

    def _crosses(self, order: SimOrder, st: SymbolState) -> bool:
        best = st.book.best(ASK if order.is_buy else BID)
        if best is None:
            return False
        if order.type == "MARKET":
            return True
        return best <= order.price if order.is_buy else best >= order.price

    def _walk(self, order: SimOrder, st: SymbolState) -> Iterable[tuple[int, int]]:
        """(price, lots) of the opposite side within the order's limit, best first."""
        side: Side = ASK if order.is_buy else BID
        for price, lots in st.book.top(side):
            if order.type != "MARKET" and (
                price > order.price if order.is_buy else price < order.price
            ):
                break
            yield price, lots

    def _available(self, order: SimOrder, st: SymbolState) -> int:
        return sum(lots for _, lots in self._walk(order, st))

    def _lot_value(self, st: SymbolState, price: int, lots: int) -> Decimal:
        return st.quote_of(price, lots)

    def _market_lots(self, order: SimOrder, st: SymbolState) -> tuple[int, Decimal]:
        """Lots a market order would take and their quote value (quoteOrderQty aware)."""
        budget = order.orig_quote_qty
        lots_left = order.orig_lots if not budget else 10**18
        total_lots, total_quote = 0, Decimal(0)
        for price, lots in self._walk(order, st):
            take = min(lots, lots_left)
            if budget:
                per_lot = self._lot_value(st, price, 1)
                take = min(take, int((budget - total_quote) // per_lot))
            if take <= 0:
                break
            total_lots += take
            total_quote += self._lot_value(st, price, take)
            lots_left -= take
            if lots_left <= 0:
                break
        return total_lots, total_quote

    # -- spot funds -----------------------------------------------------------------------------
    def _reserve_spot(self, order: SimOrder, st: SymbolState) -> None:
        spec = st.spec
        account = order.account
        if order.type == "MARKET":
            lots, quote = self._market_lots(order, st)
            if order.orig_quote_qty:
                order.orig_lots = lots
            if order.is_buy:
                amount, asset = quote, spec.quote
            else:
                amount, asset = order.orig_lots * spec.step_size, spec.base
        elif order.is_buy:
            amount, asset = self._lot_value(st, order.price, order.orig_lots), spec.quote
        else:
            amount, asset = order.orig_lots * spec.step_size, spec.base
        balance = account.spot_balance(asset)
        if balance.free < amount:
            raise ApiError(-2010, INSUFFICIENT)
        balance.free -= amount
        balance.locked += amount
        order.locked = amount
        self._touch(account, asset)

    def _touch(self, account: Account, *assets: str) -> None:
        entry = self._spot_touched.setdefault(account.uid, (account, set()))
        entry[1].update(assets)

    def _flush(self, now: int) -> None:
        for account, assets in self._spot_touched.values():
            account.update_time = now
            self.sink.spot_account(account, sorted(assets), now)
        self._spot_touched.clear()

    def _release(self, order: SimOrder) -> None:
        """Give back what a finished spot order still reserves."""
        if order.market != "spot" or not order.locked:
            return
        spec = self.state("spot", order.symbol).spec
        asset = spec.quote if order.is_buy else spec.base
        balance = order.account.spot_balance(asset)
        balance.locked -= order.locked
        balance.free += order.locked
        order.locked = Decimal(0)
        self._touch(order.account, asset)

    # -- futures margin -------------------------------------------------------------------------
    def margin(
        self, account: Account, market: MarketName, asset: str
    ) -> tuple[Decimal, Decimal, Decimal]:
        """(unrealized PnL, position initial margin, open-order initial margin) of ``asset``."""
        upnl = pos_im = order_im = Decimal(0)
        for symbol, pos in account.positions[market].items():
            st = self.state(market, symbol)
            if st.spec.margin_asset != asset or not pos.amount:
                continue
            mark = self.mark_price(market, symbol)
            upnl += self.unrealized(market, st.spec, pos.amount, pos.entry_price, mark)
            pos_im += self.notional(market, st.spec, abs(pos.amount), mark) / pos.leverage
        for order in self.open_orders(account, market):
            st = self.state(market, order.symbol)
            if st.spec.margin_asset != asset or order.reduce_only:
                continue
            qty = order.remaining * st.spec.step_size
            lev = account.position(market, order.symbol).leverage
            order_im += self.notional(market, st.spec, qty, order.price * st.spec.tick_size) / lev
        return upnl, pos_im, order_im

    @staticmethod
    def notional(market: MarketName, spec: SymbolSpec, qty: Decimal, price: Decimal) -> Decimal:
        """USD-M: quote notional; COIN-M: contracts converted to the margin coin."""
        if market == "coinm":
            return qty * spec.contract_size / price if price else Decimal(0)
        return qty * price

    @staticmethod
    def unrealized(
        market: MarketName, spec: SymbolSpec, amount: Decimal, entry: Decimal, mark: Decimal
    ) -> Decimal:
        if not amount or not entry or not mark:
            return Decimal(0)
        if market == "coinm":
            return amount * spec.contract_size * (1 / entry - 1 / mark)
        return amount * (mark - entry)

    def available(self, account: Account, market: MarketName, asset: str) -> Decimal:
        upnl, pos_im, order_im = self.margin(account, market, asset)
        return account.wallet(market, asset) + upnl - pos_im - order_im

    def _check_futures(self, order: SimOrder, st: SymbolState) -> None:
        spec, market, account = st.spec, order.market, order.account
        pos = account.position(market, order.symbol)
        if order.reduce_only:
            reduces = pos.amount < 0 if order.is_buy else pos.amount > 0
            if not reduces or order.orig_lots * spec.step_size > abs(pos.amount):
                raise ApiError(-2022, "ReduceOnly Order is rejected.")
            return
        price = order.price
        if order.type == "MARKET":
            best = st.book.best(ASK if order.is_buy else BID)
            price = best if best is not None else st.last_price
        need = (
            self.notional(market, spec, order.orig_lots * spec.step_size, price * spec.tick_size)
            / pos.leverage
        )
        if need > self.available(account, market, spec.margin_asset):
            raise ApiError(-2019, "Margin is insufficient.")

    # -- execution ------------------------------------------------------------------------------
    def _take(self, taker: SimOrder, st: SymbolState, now: int) -> None:
        """Match ``taker`` against the opposite side: account orders first at each level."""
        market, symbol = taker.market, taker.symbol
        side: Side = ASK if taker.is_buy else BID
        step = self._step(market, symbol)
        budget = taker.orig_quote_qty if taker.type == "MARKET" else Decimal(0)
        while taker.remaining > 0:
            price = st.book.best(side)
            if price is None or (
                taker.type != "MARKET"
                and (price > taker.price if taker.is_buy else price < taker.price)
            ):
                break
            level = st.book.levels[side][price]
            queue = self._levels(market, symbol, side).get(price, deque())
            own = sum(o.remaining for o in queue)
            generator = max(0, level - own)
            first_trade = st.trade_id + 1
            taken = 0
            for maker in list(queue):
                lots = self._affordable(
                    taker, st, price, min(taker.remaining, maker.remaining), budget
                )
                if lots <= 0:
                    break
                self._trade(taker, maker, st, price=price, lots=lots, now=now)
                taken += lots
                if not maker.is_open:
                    queue.popleft()
            if taker.remaining > 0 and generator > 0:
                lots = self._affordable(taker, st, price, min(taker.remaining, generator), budget)
                if lots > 0:
                    self._trade(taker, None, st, price=price, lots=lots, now=now)
                    taken += lots
            if not queue:
                self._levels(market, symbol, side).pop(price, None)
            if taken == 0:
                break
            self._set_level(st, step, side, price, level - taken)
            st.agg_id += 1
            step.agg_trades.append(
                AggTrade(st.agg_id, price, taken, first_trade, st.trade_id, not taker.is_buy, now)
            )

    def _affordable(
        self, taker: SimOrder, st: SymbolState, price: int, lots: int, budget: Decimal
    ) -> int:
        if not budget:
            return lots
        spent = taker.cum_quote
        return min(lots, int((budget - spent) // self._lot_value(st, price, 1)))

    def _trade(
        self,
        taker: SimOrder,
        maker: SimOrder | None,
        st: SymbolState,
        *,
        price: int,
        lots: int,
        now: int,
    ) -> None:
        """One public trade: ``taker`` against ``maker`` (an account order) or the market."""
        st.trade_id += 1
        trade = Trade(st.trade_id, price, lots, not taker.is_buy, now)
        self._step(taker.market, taker.symbol).trades.append(trade)
        st.record_trade(trade)
        self._fill(taker, st, price=price, lots=lots, trade_id=trade.id, maker=False, now=now)
        if maker is not None:
            self._fill(maker, st, price=price, lots=lots, trade_id=trade.id, maker=True, now=now)

    def _fill(
        self,
        order: SimOrder,
        st: SymbolState,
        *,
        price: int,
        lots: int,
        trade_id: int,
        maker: bool,
        now: int,
    ) -> None:
        """Apply one execution to the order and its account, and report it."""
        spec, account, market = st.spec, order.account, order.market
        quote = self._lot_value(st, price, lots)
        rate = account.maker_fee if maker else account.taker_fee
        realized = Decimal(0)
        if market == "spot":
            commission, asset = self._settle_spot(order, st, lots, quote=quote, rate=rate)
        else:
            realized = self._settle_futures(order, st, price, lots)
            asset = spec.margin_asset
            commission = _q8(
                self.notional(market, spec, lots * spec.step_size, price * spec.tick_size) * rate
            )
            account.wallets[market][asset] = account.wallet(market, asset) + realized - commission
        order.executed_lots += lots
        order.cum_quote += quote
        order.update_time = now
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        fill = Fill(price, lots, quote, commission, asset, trade_id, maker, now, realized)
        order.fills.append(fill)
        self.trades.setdefault((account.uid, market), []).append(
            AccountTrade(
                order.symbol,
                trade_id,
                order.order_id,
                price,
                lots,
                quote,
                commission,
                asset,
                now,
                order.is_buy,
                maker,
                realized,
            )
        )
        if not order.is_open:
            self._release(order)
        self.sink.order_event(order, "TRADE", fill, now)
        if market != "spot":
            account.update_time = now
            self.sink.futures_account(
                account, market, [asset], [order.symbol], reason="ORDER", now=now
            )

    def _settle_spot(
        self, order: SimOrder, st: SymbolState, lots: int, *, quote: Decimal, rate: Decimal
    ) -> tuple[Decimal, str]:
        spec, account = st.spec, order.account
        base_qty = lots * spec.step_size
        if order.is_buy:
            released = self._lot_value(st, order.price, lots) if order.type != "MARKET" else quote
            released = min(released, order.locked)
            order.locked -= released
            pay = account.spot_balance(spec.quote)
            pay.locked -= released
            pay.free += released - quote
            commission = _q8(base_qty * rate)
            account.spot_balance(spec.base).free += base_qty - commission
            asset = spec.base
        else:
            order.locked -= base_qty
            account.spot_balance(spec.base).locked -= base_qty
            commission = _q8(quote * rate)
            account.spot_balance(spec.quote).free += quote - commission
            asset = spec.quote
        self._touch(account, spec.base, spec.quote)
        return commission, asset

    def _settle_futures(
        self, order: SimOrder, st: SymbolState, price_ticks: int, lots: int
    ) -> Decimal:
        """Update the one-way position; returns the realized PnL in the margin asset."""
        spec, market = st.spec, order.market
        pos = order.account.position(market, order.symbol)
        qty = lots * spec.step_size
        price = price_ticks * spec.tick_size
        signed = qty if order.is_buy else -qty
        old = pos.amount
        realized = Decimal(0)
        if old == 0 or (old > 0) == (signed > 0):
            new = old + signed
            if market == "coinm":  # inverse contracts average harmonically
                pos.entry_price = abs(new) / (
                    abs(old) / pos.entry_price + qty / price if old else qty / price
                )
            else:
                pos.entry_price = (abs(old) * pos.entry_price + qty * price) / abs(new)
        else:
            closing = min(abs(signed), abs(old))
            direction = 1 if old > 0 else -1
            realized = self.unrealized(market, spec, closing * direction, pos.entry_price, price)
            new = old + signed
            if new == 0:
                pos.entry_price = Decimal(0)
            elif (new > 0) != (old > 0):
                pos.entry_price = price
        pos.amount = new
        pos.realized += realized
        pos.update_time = now_ms()
        return realized

    def _rest(self, order: SimOrder, st: SymbolState) -> None:
        side: Side = BID if order.is_buy else ASK
        self._levels(order.market, order.symbol, side).setdefault(order.price, deque()).append(
            order
        )
        level = st.book.levels[side].get(order.price, 0)
        self._set_level(
            st, self._step(order.market, order.symbol), side, order.price, level + order.remaining
        )

    def _unrest(self, order: SimOrder, lots: int) -> None:
        """Take ``lots`` of a resting order's quantity out of the book."""
        st = self.state(order.market, order.symbol)
        side: Side = BID if order.is_buy else ASK
        level = st.book.levels[side].get(order.price, 0)
        self._set_level(st, self._step(order.market, order.symbol), side, order.price, level - lots)

    def _dequeue(self, order: SimOrder) -> None:
        side: Side = BID if order.is_buy else ASK
        levels = self._levels(order.market, order.symbol, side)
        queue = levels.get(order.price)
        if queue is not None and order in queue:
            queue.remove(order)
            if not queue:
                del levels[order.price]

    def _finish(self, order: SimOrder, status: str, now: int) -> None:
        order.status = status
        order.update_time = now
        self._release(order)
        self.sink.order_event(order, status, None, now)

    # -- cancelling and amending ----------------------------------------------------------------
    def cancel(self, order: SimOrder, new_client_id: str | None = None) -> SimOrder:
        """Cancel an open order (the caller has checked it is open and owned)."""
        now = now_ms()
        self._dequeue(order)  # open orders are resting orders
        self._unrest(order, order.remaining)
        order.cancel_client_id = new_client_id or self.new_client_id()
        self._finish(order, "CANCELED", now)
        self._flush(now)
        return order

    def amend_keep_priority(self, order: SimOrder, new_lots: int, new_client_id: str | None) -> int:
        """Spot: reduce the quantity in place; returns the execution id."""
        now = now_ms()
        st = self.state(order.market, order.symbol)
        removed = order.orig_lots - new_lots
        # Binance gives the amended order a new client order id: the one sent, else a
        # random one (sending the current id keeps it)
        order.cancel_client_id = order.client_order_id
        order.client_order_id = new_client_id or self.new_client_id()
        removed_open = min(removed, order.remaining)
        self._unrest(order, removed_open)
        order.orig_lots = new_lots
        if order.is_buy:
            give = min(self._lot_value(st, order.price, removed_open), order.locked)
        else:
            give = min(removed_open * st.spec.step_size, order.locked)
        asset = st.spec.quote if order.is_buy else st.spec.base
        balance = order.account.spot_balance(asset)
        balance.locked -= give
        balance.free += give
        order.locked -= give
        self._touch(order.account, asset)
        order.update_time = now
        if order.remaining <= 0:
            self._dequeue(order)
            order.status = "FILLED"
            self._release(order)
        self.sink.order_event(order, "REPLACED", None, now)
        self._flush(now)
        return self.next_execution_id()

    def modify(self, order: SimOrder, new_lots: int, new_price: int) -> SimOrder:
        """Futures ``order.modify``: new price and quantity; a price change loses priority
        and may execute at once."""
        now = now_ms()
        st = self.state(order.market, order.symbol)
        self._dequeue(order)
        self._unrest(order, order.remaining)
        order.orig_lots, order.price, order.update_time = new_lots, new_price, now
        self.sink.order_event(order, "AMENDMENT", None, now)
        self._take(order, st, now)
        if order.is_open:
            self._rest(order, st)
        self._flush(now)
        return order

    # -- the market moving ----------------------------------------------------------------------
    def move_market(self, market: MarketName, symbol: str, price: Decimal) -> int:
        """Sweep the true book to ``price`` (a generator taker walks through every level up
        to it), filling account orders there, then quote one tick around it. Returns the
        number of account orders that traded."""
        st = self.state(market, symbol)
        target = int(price / st.spec.tick_size)
        now = now_ms()
        step = self._step(market, symbol)
        up = target > st.mid()
        side: Side = ASK if up else BID
        touched: set[int] = set()
        for level_price, level in list(st.book.top(side)):
            if (level_price > target) if up else (level_price < target):
                break
            queue = self._levels(market, symbol, side).pop(level_price, deque())
            own = sum(o.remaining for o in queue)
            first = st.trade_id + 1
            for maker in queue:
                self._market_trade(
                    maker, st, price=level_price, lots=maker.remaining, taker_buys=up, now=now
                )
                touched.add(maker.order_id)
            if level > own:
                st.trade_id += 1
                trade = Trade(st.trade_id, level_price, level - own, not up, now)
                step.trades.append(trade)
                st.record_trade(trade)
            self._set_level(st, step, side, level_price, 0)
            st.agg_id += 1
            step.agg_trades.append(
                AggTrade(st.agg_id, level_price, level, first, st.trade_id, not up, now)
            )
        typical = max(1, int(st.spec.typical_qty / st.spec.step_size))
        for quote_side, quote_price in ((BID, target - 1), (ASK, target + 1)):
            if quote_price > 0 and quote_price not in st.book.levels[quote_side]:
                self._set_level(st, step, quote_side, quote_price, typical)
        self._flush(now)
        return len(touched)

    def _market_trade(
        self, maker: SimOrder, st: SymbolState, *, price: int, lots: int, taker_buys: bool, now: int
    ) -> None:
        """A maker fill of an account order against generator flow (a public trade)."""
        st.trade_id += 1
        trade = Trade(st.trade_id, price, lots, not taker_buys, now)
        self._step(maker.market, maker.symbol).trades.append(trade)
        st.record_trade(trade)
        self._fill(maker, st, price=price, lots=lots, trade_id=trade.id, maker=True, now=now)

    # -- generator hook -------------------------------------------------------------------------
    def on_step(self, market: MarketName, steps: dict[str, SymbolStep], now: int) -> None:
        """Publish pending changes first, then settle resting orders against the flow."""
        for symbol, pending in self._pending[market].items():
            out = steps.get(symbol)
            if out is None:
                continue
            out.changes[:0] = pending.changes
            out.trades[:0] = pending.trades
            out.agg_trades[:0] = pending.agg_trades
            out.top_changed = out.top_changed or pending.top_changed
        self._pending[market].clear()
        for symbol, sides in self._resting[market].items():
            if sides[BID] or sides[ASK]:
                self._settle_flow(market, symbol, steps[symbol], now)
        settled = self._pending[market]
        for symbol, extra in settled.items():  # changes made while settling
            steps[symbol].changes.extend(extra.changes)
            steps[symbol].top_changed = steps[symbol].top_changed or extra.top_changed
        settled.clear()
        self._flush(now)

    def _settle_flow(self, market: MarketName, symbol: str, out: SymbolStep, now: int) -> None:
        st = self.state(market, symbol)
        for side in (BID, ASK):
            hit_by: Callable[[Trade], bool] = (
                (lambda t: t.buyer_maker) if side == BID else (lambda t: not t.buyer_maker)
            )
            hits = [t for t in out.trades if hit_by(t)]
            opposite = st.book.best(ASK if side == BID else BID)
            levels = self._levels(market, symbol, side)
            for price in sorted(levels, reverse=side == BID):
                queue = levels[price]
                own = sum(o.remaining for o in queue)
                level = st.book.levels[side].get(price, 0)
                crossed = opposite is not None and (
                    opposite <= price if side == BID else opposite >= price
                )
                through = any(t.price < price if side == BID else t.price > price for t in hits)
                at_level = [t for t in hits if t.price == price]
                if through or crossed:
                    fill = own
                elif at_level and level < own:
                    fill = own - level  # the flow ate into the account part of the level
                else:
                    fill = 0
                trade_id = at_level[0].id if at_level else st.trade_id
                while fill > 0 and queue:
                    maker = queue[0]
                    lots = min(fill, maker.remaining)
                    self._fill(
                        maker, st, price=price, lots=lots, trade_id=trade_id, maker=True, now=now
                    )
                    fill -= lots
                    if not maker.is_open:
                        queue.popleft()
                own_after = sum(o.remaining for o in queue)
                if not queue:
                    del levels[price]
                if crossed and not through:
                    target = max(0, level - own)  # filled without a print: leave the book
                elif level < own_after:
                    target = own_after  # a generator resize is not a trade: restore
                else:
                    continue
                self._set_level(st, self._step(market, symbol), side, price, target)
