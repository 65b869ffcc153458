"""Fills lost in a disconnect gap: which orders to fetch trades for, and each trade once."""

from decimal import Decimal

import msgspec
import pytest

from ccxtpro_sync._core.events import Policy
from ccxtpro_sync._exchanges.binance import user_data
from ccxtpro_sync._exchanges.binance.markets import Markets
from ccxtpro_sync._exchanges.binance.private_parsers import parse_execution_report, parse_my_trade
from ccxtpro_sync._exchanges.binance.private_wire import TradeResult
from ccxtpro_sync._exchanges.binance.user_data import UserDataState
from ccxtpro_sync._structures import Order, Trade

from .test_private_parsers import (
    coinm_market,
    execution,
    futures_update,
    spot_market,
    usdm_market,
)

SYMBOL = "ETH/BTC"


def order(order_id, status="open", filled=0.0, ts=1, symbol=SYMBOL):
    return Order(
        id=order_id, symbol=symbol, status=status, filled=filled, amount=1.0,
        remaining=1.0 - filled, lastUpdateTimestamp=ts, price=0.1,
    )  # fmt: skip


def trade(trade_id, order_id="1", amount=0.1, symbol=SYMBOL):
    return Trade(id=str(trade_id), order=order_id, symbol=symbol, amount=amount, price=0.1)


def state():
    return UserDataState(Markets([spot_market(), usdm_market()], "spot"))


def delivered_trades(deliveries, message_hash="myTrades"):
    return [t.id for d in deliveries if d.message_hash == message_hash for t in d.value]


def test_reconcile_names_orders_that_filled_further():
    s = state()
    s.reconcile([order("1"), order("2"), order("3"), order("4")])
    # in the gap: 1 untouched, 2 filled more and still open, 3 filled and finished,
    # 4 cancelled without a fill, 5 placed elsewhere and partly filled, 6 placed, no fill
    plan = s.reconcile(
        [order("1"), order("2", filled=0.4, ts=5), order("5", filled=0.2), order("6")]
    )
    assert plan.filled == [(SYMBOL, "2"), (SYMBOL, "5")]
    assert sorted(plan.missing) == [(SYMBOL, "3"), (SYMBOL, "4")]
    s.resolve([order("3", "closed", 1.0, ts=7), order("4", "canceled", ts=8)], plan=plan)
    assert plan.filled == [(SYMBOL, "2"), (SYMBOL, "5"), (SYMBOL, "3")]
    # nothing new since: nothing to fetch
    again = s.reconcile([order("1"), order("2", filled=0.4, ts=5), order("5", filled=0.2)])
    assert again.filled == [] and again.deliveries == []


def test_first_reconcile_seeds_without_asking_for_trades():
    s = state()
    plan = s.reconcile([order("1", filled=0.5)])
    assert plan.filled == [] and plan.deliveries == []


def test_a_cancelled_order_that_filled_in_the_gap_is_named():
    s = state()
    s.reconcile([order("1", filled=0.2)])
    plan = s.reconcile([])
    s.resolve([order("1", "canceled", filled=0.5, ts=9)], plan=plan)
    assert plan.filled == [(SYMBOL, "1")]
    # without the plan resolve still works as before
    s2 = state()
    s2.reconcile([order("1")])
    s2.reconcile([])
    assert len(s2.resolve([order("1", "closed", 1.0, ts=9)])) == 2


def test_missed_trades_are_delivered_once_in_trade_id_order():
    s = state()
    deliveries = s.missed_trades([trade(12), trade(3), trade(10)])
    assert [d.message_hash for d in deliveries] == ["myTrades", f"myTrades:{SYMBOL}"]
    assert all(d.policy is Policy.APPEND for d in deliveries)
    assert delivered_trades(deliveries) == ["3", "10", "12"]  # numeric, not text, order
    assert delivered_trades(deliveries, f"myTrades:{SYMBOL}") == ["3", "10", "12"]
    # a later reconcile fetching the same order's trades again adds only the new one
    again = s.missed_trades([trade(3), trade(10), trade(12), trade(13)])
    assert delivered_trades(again) == ["13"]
    assert s.missed_trades([trade(13), trade(13)]) == []


def test_missed_trades_group_by_symbol():
    s = state()
    other = "BTC/USDT:USDT"
    deliveries = s.missed_trades([trade(5, symbol=other), trade(2), trade(7, symbol=other)])
    assert delivered_trades(deliveries) == ["2", "5", "7"]
    assert delivered_trades(deliveries, f"myTrades:{SYMBOL}") == ["2"]
    assert delivered_trades(deliveries, f"myTrades:{other}") == ["5", "7"]
    # the same id in another symbol is another trade
    assert delivered_trades(s.missed_trades([trade(2, symbol=other)])) == ["2"]


def test_trades_delivered_live_are_not_delivered_by_the_reconcile():
    s = state()
    s.reconcile([])
    opened = s.handle(execution())
    assert delivered_trades(opened.deliveries) == []  # a NEW report carries no trade
    live = s.handle(
        execution(x="TRADE", X="PARTIALLY_FILLED", l="0.4", z="0.4", L="0.1", t=77, Z="0.04")
    )
    assert delivered_trades(live.deliveries) == ["77"]
    fetched = [trade(77, "4293153", 0.4), trade(78, "4293153", 0.6)]
    assert delivered_trades(s.missed_trades(fetched)) == ["78"]


def test_a_live_event_for_a_trade_the_reconcile_delivered_keeps_only_its_order_update():
    s = state()
    s.reconcile([])
    s.handle(execution())
    s.missed_trades([trade(77, "4293153", 0.4)])
    late = s.handle(
        execution(x="TRADE", X="PARTIALLY_FILLED", l="0.4", z="0.4", L="0.1", t=77, Z="0.04")
    )
    assert [d.message_hash for d in late.deliveries] == ["orders", f"orders:{SYMBOL}"]
    assert late.deliveries[0].value[0].filled == 0.4
    # the next fill is new and is delivered
    nxt = s.handle(
        execution(x="TRADE", X="FILLED", l="0.6", z="1.0", L="0.1", t=78, Z="0.1", T=1499405658800)
    )
    assert delivered_trades(nxt.deliveries) == ["78"]


def test_futures_order_trade_updates_are_deduplicated_too():
    s = state()
    s.reconcile([])
    usdm = "BTC/USDT:USDT"
    s.missed_trades([trade(5, "8886774", 0.001, symbol=usdm)])
    fill = futures_update(x="TRADE", X="FILLED", l="0.001", z="0.001", L="7100", ap="7100", t=5)
    result = s.handle(fill)
    assert delivered_trades(result.deliveries) == []
    assert [d.message_hash for d in result.deliveries] == ["orders", f"orders:{usdm}"]


def test_trade_memory_is_bounded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(user_data, "_TRADE_MEMORY", 3)
    s = state()
    assert delivered_trades(s.missed_trades([trade(i) for i in range(1, 6)])) == [
        "1", "2", "3", "4", "5",
    ]  # fmt: skip
    assert len(s._delivered_trades) == 3
    # the newest are still known; the oldest were forgotten
    assert s.missed_trades([trade(3), trade(4), trade(5)]) == []
    assert delivered_trades(s.missed_trades([trade(1)])) == ["1"]


def test_futures_user_trades_rows_parse_to_unified_trades():
    usdm_row = msgspec.json.decode(
        b'{"buyer":true,"commission":"0.00310000","commissionAsset":"USDT","id":698759,'
        b'"maker":false,"orderId":25851813,"price":"62000.10","qty":"0.010",'
        b'"quoteQty":"620.00100000","realizedPnl":"0.00000000","side":"BUY",'
        b'"positionSide":"BOTH","symbol":"BTCUSDT","time":1569514978020}',
        type=TradeResult,
    )
    t = parse_my_trade(usdm_row, usdm_market(), float)
    assert (t.id, t.order, t.symbol, t.side) == ("698759", "25851813", "BTC/USDT:USDT", "buy")
    assert t.takerOrMaker == "taker" and t.amount == pytest.approx(0.01)
    assert t.cost == pytest.approx(620.001) and t.fee.cost == pytest.approx(0.0031)
    assert t.fee.currency == "USDT" and t.timestamp == 1569514978020
    assert t.datetime == "2019-09-26T16:22:58.020Z"
    coinm_row = msgspec.json.decode(
        b'{"symbol":"BTCUSD_PERP","id":6,"orderId":28,"pair":"BTCUSD","side":"SELL",'
        b'"price":"8800","qty":"1","realizedPnl":"0","marginAsset":"BTC",'
        b'"baseQty":"0.01136364","commission":"0.00000454","commissionAsset":"BTC",'
        b'"time":1590743483586,"positionSide":"BOTH","buyer":false,"maker":true}',
        type=TradeResult,
    )
    assert (coinm_row.pair, coinm_row.margin_asset) == ("BTCUSD", "BTC")
    t = parse_my_trade(coinm_row, coinm_market(), float)
    assert t.symbol == "BTC/USD:BTC" and t.side == "sell" and t.takerOrMaker == "maker"
    assert t.cost == pytest.approx(0.01136364) and t.fee.currency == "BTC"


def test_orders_whose_trades_could_not_be_fetched_are_named_again():
    s = state()
    s.reconcile([order("1")])
    plan = s.reconcile([order("1", filled=0.3, ts=5)])
    assert plan.filled == [(SYMBOL, "1")]
    s.owe_trades(plan.filled)  # the fetch failed
    out_of_scope = s.reconcile([], symbols=["BTC/USDT:USDT"])
    assert out_of_scope.filled == []  # kept for a reconcile that covers its symbol
    retry = s.reconcile([order("1", filled=0.3, ts=5)])
    assert retry.filled == [(SYMBOL, "1")] and retry.deliveries == []
    assert s.reconcile([order("1", filled=0.3, ts=5)]).filled == []  # owed once only


# -- the criterion: filled beyond what the delivered trades cover ---------------------------


def fill(order_id, filled, status="open", ts=5, amount=1.0):
    """The order state a placement reply (or a status query) reports."""
    placed = order(order_id, status, filled, ts)
    return msgspec.structs.replace(placed, amount=amount, remaining=amount - filled)


@pytest.mark.parametrize("synced", [True, False])
def test_a_placement_reply_fill_whose_events_were_lost_is_fetched_once(synced):
    s = state()
    if synced:
        s.reconcile([])
    # the reply already shows a fill; its user-data events (and trades) are lost
    s.track(fill("1", 0.4))
    plan = s.reconcile([fill("1", 0.4)])  # no growth over the tracked state
    assert plan.filled == [(SYMBOL, "1")] and plan.deliveries == []
    got = s.missed_trades([trade(21, "1", 0.3), trade(20, "1", 0.1)])
    assert delivered_trades(got) == ["20", "21"]
    assert s.missed_trades([trade(20, "1", 0.1), trade(21, "1", 0.3)]) == []
    assert s.reconcile([fill("1", 0.4)]).filled == []  # covered now: nothing to fetch
    # it fills further and finishes in a gap: only the new trade is delivered
    later = s.reconcile([])
    s.resolve([fill("1", 1.0, "closed", ts=9)], plan=later)
    assert later.filled == [(SYMBOL, "1")]
    again = s.missed_trades([trade(20, "1", 0.1), trade(21, "1", 0.3), trade(22, "1", 0.6)])
    assert delivered_trades(again) == ["22"]
    assert s.reconcile([]).filled == [] and s._fills == {}


def test_a_placement_reply_fill_whose_trades_came_live_is_not_fetched():
    s = state()
    s.reconcile([])
    s.track(fill("4293153", 0.4, amount=1.0))  # the reply came before the events
    s.handle(execution())
    s.handle(execution(x="TRADE", X="PARTIALLY_FILLED", l="0.4", z="0.4", L="0.1", t=77))
    fetched = parse_order("4293153", 0.4)
    assert s.reconcile([fetched]).filled == []


def parse_order(order_id, filled):
    return msgspec.structs.replace(fill(order_id, filled), lastUpdateTimestamp=1499405658657)


def test_float_rounding_of_summed_trades_names_nothing():
    s = state()
    s.reconcile([])
    s.handle(execution())
    # 0.3 + 0.3 + 0.3 adds up to 0.8999999999999999 in floats, + 0.1 to 0.9999999999999999
    for t, total in enumerate(["0.3", "0.6", "0.9"], start=1):
        s.handle(execution(x="TRADE", X="PARTIALLY_FILLED", l="0.3", z=total, L="0.1", t=t))
    assert s._fills[(SYMBOL, "4293153")].delivered < 0.9
    assert s.reconcile([parse_order("4293153", 0.9)]).filled == []
    s.handle(execution(x="TRADE", X="FILLED", l="0.1", z="1.0", L="0.1", t=4))
    assert s._owed_trades == {} and s._fills == {}  # finished, nothing owed
    assert s.reconcile([]).filled == []


def test_decimal_sums_are_compared_exactly():
    s = UserDataState(Markets([spot_market(Decimal)], "spot", number=Decimal))
    s.reconcile([])
    s.handle(execution())
    s.handle(execution(x="TRADE", X="PARTIALLY_FILLED", l="0.3", z="0.3", L="0.1", t=1))
    fetched = s.orders["4293153"]
    assert fetched.filled == Decimal("0.3")
    assert s.reconcile([fetched]).filled == []
    grown = msgspec.structs.replace(
        fetched, filled=Decimal("0.300000000001"), lastUpdateTimestamp=1499405658700
    )
    assert s.reconcile([grown]).filled == [(SYMBOL, "4293153")]
    # an order that finishes live from nothing (Decimal("0.000") is falsy)
    s.handle(execution(i=5, X="NEW", z="0.000"))
    done = s.handle(execution(i=5, x="TRADE", X="FILLED", l="1.0", z="1.0", L="0.1", t=2))
    assert delivered_trades(done.deliveries) == ["2"]
    assert s._owed_trades == {} and (SYMBOL, "5") not in s._fills
    # and one cancelled without a fill
    s.handle(execution(i=6, X="NEW", z="0.000"))
    gone = s.handle(execution(i=6, x="CANCELED", X="CANCELED", z="0.000"))
    assert [d.message_hash for d in gone.deliveries] == ["orders", f"orders:{SYMBOL}"]
    assert s._owed_trades == {} and s.reconcile([]).filled == []


def test_first_reconcile_seeds_pre_existing_fills_which_are_never_delivered():
    s = state()
    s.track(fill("9", 0.2))  # ours, placed before the first reconcile
    first = s.reconcile([fill("8", 0.5), fill("9", 0.2)])  # 8 pre-existed
    assert first.filled == [(SYMBOL, "9")] and first.deliveries == []
    # 8 fills further in a gap: only the trades after the seeded 0.5 are delivered
    plan = s.reconcile([fill("8", 0.7, ts=9), fill("9", 0.2)])
    assert plan.filled == [(SYMBOL, "8")]
    past = [trade(1, "8", 0.2), trade(2, "8", 0.3)]
    assert delivered_trades(s.missed_trades([*past, trade(3, "8", 0.2)])) == ["3"]
    assert s.missed_trades(past) == []  # the past stays undelivered
    # a pre-existing order that finishes in a gap: likewise
    s2 = state()
    s2.reconcile([fill("8", 0.5)])
    plan = s2.reconcile([])
    s2.resolve([fill("8", 1.0, "closed", ts=9)], plan=plan)
    assert plan.filled == [(SYMBOL, "8")]
    got = s2.missed_trades([trade(1, "8", 0.5), trade(2, "8", 0.5)])
    assert delivered_trades(got) == ["2"]
    assert s2.reconcile([]).filled == [] and s2._fills == {}


def test_a_pre_existing_order_first_seen_live_before_the_first_reconcile_is_seeded():
    s = state()
    # its earlier 0.4 happened before we subscribed; this event's 0.2 is ours
    live = s.handle(execution(x="TRADE", X="PARTIALLY_FILLED", l="0.2", z="0.6", L="0.1", t=9))
    assert delivered_trades(live.deliveries) == ["9"]
    assert s.reconcile([parse_order("4293153", 0.6)]).filled == []


def test_an_order_finishing_live_with_fills_missing_is_owed_to_the_next_reconcile():
    s = state()
    s.reconcile([])
    s.handle(execution())
    # the partial fill's event is lost; the final one arrives
    s.handle(execution(x="TRADE", X="FILLED", l="0.6", z="1.0", L="0.1", t=78))
    plan = s.reconcile([])
    assert plan.filled == [(SYMBOL, "4293153")]
    got = s.missed_trades([trade(77, "4293153", 0.4), trade(78, "4293153", 0.6)])
    assert delivered_trades(got) == ["77"]
    assert s.reconcile([]).filled == [] and s._fills == {}


def test_live_fills_without_trade_ids_still_count():
    s = state()
    s.reconcile([])
    s.handle(execution())
    event = execution(x="TRADE", X="PARTIALLY_FILLED", l="0.4", z="0.4", L="0.1", t=77)
    parsed = parse_execution_report(event, spot_market(), float)
    anonymous = msgspec.structs.replace(parsed.trades[0], id=None)
    result = s._on_order(msgspec.structs.replace(parsed, trades=[anonymous]))
    assert delivered_trades(result.deliveries) == [None]  # delivered: nothing to match it by
    assert s.reconcile([parse_order("4293153", 0.4)]).filled == []  # and it counts


FINAL_ID = "4293153"  # the order id of the execution reports above


@pytest.mark.parametrize("synced", [True, False])
def test_a_final_placement_reply_whose_events_were_lost_is_announced_with_its_trades(synced):
    s = state()
    if synced:
        s.reconcile([])
    # a market order: the reply is final; every event about it is lost
    s.track_final(fill(FINAL_ID, 1.0, "closed"))
    plan = s.reconcile([])
    assert [d.message_hash for d in plan.deliveries] == ["orders", f"orders:{SYMBOL}"]
    assert plan.deliveries[0].value[0].status == "closed"
    assert plan.filled == [(SYMBOL, FINAL_ID)]
    got = s.missed_trades([trade(78, FINAL_ID, 0.6), trade(77, FINAL_ID, 0.4)])
    assert delivered_trades(got) == ["77", "78"]
    # the lost events turn up late after all: neither the order nor a trade comes twice
    late = s.handle(
        execution(x="TRADE", X="FILLED", l="0.6", z="1.0", L="0.1", t=78, Z="0.1", T=1499405658800)
    )
    assert late.deliveries == []
    after = s.reconcile([])
    assert after.filled == [] and after.deliveries == [] and s._fills == {}


def test_a_final_placement_reply_whose_events_arrive_needs_no_reconcile():
    s = state()
    s.reconcile([])
    s.track_final(fill(FINAL_ID, 1.0, "closed"))  # the reply came before its events
    s.handle(execution())
    done = s.handle(
        execution(x="TRADE", X="FILLED", l="1.0", z="1.0", L="0.1", t=77, Z="0.1", T=1499405658800)
    )
    assert delivered_trades(done.deliveries) == ["77"]
    plan = s.reconcile([])
    assert plan.filled == [] and plan.deliveries == []
    # events first, reply second: the finished order is not awaited at all
    s.track_final(fill(FINAL_ID, 1.0, "closed"))
    assert s._awaiting_final == {}
    # a cancel reply without a fill has no trades to fetch: nothing is awaited either
    s.track_final(fill("9", 0.0, "canceled"))
    assert s._awaiting_final == {} and s.reconcile([]).deliveries == []
