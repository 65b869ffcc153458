"""Orders against the true book, positions and balances (reference §7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ccxtpro_sync.simulator.deribit import LocalDeribit

from .conftest import Rpc, fixture

PERP = "BTC-PERPETUAL"


@pytest.fixture
def trader(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> Rpc:
    client = rpc()
    client.login(ex)
    return client


def _buy(client: Rpc, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = client.result("private/buy", {"instrument_name": PERP, **params})
    return result


def test_limit_rests_in_the_book_and_fills_as_maker(ex: LocalDeribit, trader: Rpc) -> None:
    channels = ["user.orders.BTC-PERPETUAL.raw", "user.trades.future.BTC.100ms",
                "user.portfolio.btc", "user.changes.any.any.100ms"]  # fmt: skip
    assert sorted(trader.result("private/subscribe", {"channels": channels, "label": "t1"})) == (
        sorted(channels)
    )
    best_bid = ex.book(PERP).bids[0][0]
    price = best_bid + 0.5  # improves the bid, below the ask
    placed = _buy(trader, amount=50, price=price, label="cid-1")
    order = placed["order"]
    assert set(fixture("buy_limit_result.json")["result"]["order"]) <= set(order)
    assert (order["order_state"], order["price"], order["filled_amount"]) == ("open", price, 0.0)
    assert placed["trades"] == []
    assert ex.book(PERP).bids[0] == [price, 50.0]
    note = trader.note(channels[0])
    assert isinstance(note, dict) and note["order_id"] == order["order_id"]  # raw: one object
    trades = ex.trade(PERP, "sell", 30)
    assert trades[0]["price"] == price and trades[0]["amount"] == 30
    update = trader.note(channels[0])
    assert update["filled_amount"] == 30 and update["order_state"] == "open"
    fills = trader.note(channels[1])
    assert fills[0]["liquidity"] == "M" and fills[0]["direction"] == "buy"
    assert fills[0]["order_id"] == order["order_id"] and fills[0]["label"] == "cid-1"
    assert fills[0]["fee"] == 0.0  # maker commission of BTC-PERPETUAL
    change = trader.note(channels[3])  # user.changes comes before user.portfolio
    assert change["instrument_name"] == PERP and change["positions"][0]["size"] == 30
    assert trader.note(channels[2])["currency"] == "BTC"
    assert ex.book(PERP).bids[0] == [price, 20.0]
    by_label = trader.result("private/get_order_state_by_label",
                             {"label": "cid-1", "currency": "BTC"})  # fmt: skip
    assert [o["order_id"] for o in by_label] == [order["order_id"]]


def test_crossing_limit_takes_liquidity(ex: LocalDeribit, trader: Rpc) -> None:
    asks = ex.book(PERP).asks
    want = asks[0][1] + 10
    placed = _buy(trader, amount=want, price=asks[1][0])
    trades = placed["trades"]
    assert [t["price"] for t in trades] == [asks[0][0], asks[1][0]]
    assert sum(t["amount"] for t in trades) == want
    assert all(t["liquidity"] == "T" and t["fee_currency"] == "BTC" for t in trades)
    assert placed["order"]["order_state"] == "filled"
    assert placed["order"]["average_price"] > asks[0][0]
    assert ex.book(PERP).asks[0] == [asks[1][0], asks[1][1] - 10]


def test_market_ioc_fok(ex: LocalDeribit, trader: Rpc) -> None:
    bid = ex.book(PERP).bids[0]
    sold = trader.result("private/sell", {"instrument_name": PERP, "amount": 10, "type": "market"})
    assert sold["order"]["price"] == "market_price" and sold["order"]["order_state"] == "filled"
    assert sold["trades"][0]["price"] == bid[0]
    ask = ex.book(PERP).asks[0]
    ioc = _buy(trader, amount=ask[1] + 10, price=ask[0], time_in_force="immediate_or_cancel")
    assert ioc["order"]["order_state"] == "cancelled" and ioc["order"]["filled_amount"] == ask[1]
    ask = ex.book(PERP).asks[0]
    fok = _buy(trader, amount=ask[1] + 10, price=ask[0], time_in_force="fill_or_kill")
    assert fok["order"]["order_state"] == "cancelled" and fok["trades"] == []
    assert ex.book(PERP).asks[0] == ask


def test_post_only_reprices_or_rejects(ex: LocalDeribit, trader: Rpc) -> None:
    ask = ex.book(PERP).asks[0][0]
    err = trader.error("private/buy", {"instrument_name": PERP, "amount": 10, "price": ask,
                                       "post_only": True, "reject_post_only": True})  # fmt: skip
    assert err["code"] == 11054
    placed = _buy(trader, amount=10, price=ask + 5, post_only=True)
    assert placed["trades"] == [] and placed["order"]["order_state"] == "open"
    assert placed["order"]["price"] == ask - 0.5  # just inside the spread
    assert ex.book(PERP).asks[0][0] == ask


def test_reduce_only(ex: LocalDeribit, trader: Rpc) -> None:
    err = trader.error("private/sell", {"instrument_name": PERP, "amount": 10, "type": "market",
                                        "reduce_only": True})  # fmt: skip
    assert err["code"] == 11030
    _buy(trader, amount=30, type="market")
    sold = trader.result("private/sell", {"instrument_name": PERP, "amount": 100,
                                          "type": "market", "reduce_only": True})  # fmt: skip
    assert sold["order"]["amount"] == 30 and sold["order"]["filled_amount"] == 30
    assert trader.result("private/get_positions", {"currency": "BTC"}) == []


def test_inverse_position_and_profit_in_coin(ex: LocalDeribit, trader: Rpc) -> None:
    bought = _buy(trader, amount=100, type="market")
    entry = bought["order"]["average_price"]
    pos = trader.result("private/get_positions", {"currency": "BTC", "kind": "future"})
    assert pos[0]["size"] == 100 and pos[0]["direction"] == "buy"
    assert pos[0]["average_price"] == pytest.approx(entry)
    assert pos[0]["size_currency"] == pytest.approx(100 / pos[0]["mark_price"])
    before = trader.result("private/get_account_summary", {"currency": "BTC"})
    sold = trader.result("private/sell", {"instrument_name": PERP, "amount": 100,
                                          "type": "market"})  # fmt: skip
    exit_price = sold["order"]["average_price"]
    pnl = sum(t["profit_loss"] for t in sold["trades"])
    assert pnl == pytest.approx(100 * (1 / entry - 1 / exit_price), rel=1e-6)
    after = trader.result("private/get_account_summary", {"currency": "BTC"})
    fees = sum(t["fee"] for t in sold["trades"])
    assert after["balance"] == pytest.approx(before["balance"] + pnl - fees, abs=1e-9)
    assert set(fixture("account_summary_limits.json")["limits"]) <= set(after["limits"])


def test_linear_position_and_profit_in_usdc(ex: LocalDeribit, trader: Rpc) -> None:
    name = "BTC_USDC-PERPETUAL"
    sold = trader.result("private/sell", {"instrument_name": name, "amount": 0.01,
                                          "type": "market"})  # fmt: skip
    entry = sold["order"]["average_price"]
    pos = trader.result("private/get_positions", {"currency": "USDC"})
    assert pos[0]["size"] == -0.01 and pos[0]["direction"] == "sell"
    bought = trader.result("private/buy", {"instrument_name": name, "contracts": 10,
                                           "type": "market"})  # fmt: skip
    assert bought["order"]["amount"] == 0.01 and bought["order"]["contracts"] == 10
    exit_price = bought["order"]["average_price"]
    pnl = sum(t["profit_loss"] for t in bought["trades"])
    assert pnl == pytest.approx(-0.01 * (exit_price - entry), abs=1e-9)
    assert bought["trades"][0]["fee_currency"] == "USDC"
    assert bought["order"]["order_id"].startswith("USDC-")


def test_edit_cancel_and_lists(ex: LocalDeribit, trader: Rpc) -> None:
    low = ex.book(PERP).bids[-1][0] - 100
    first = _buy(trader, amount=10, price=low, label="a")["order"]
    second = _buy(trader, amount=20, price=low - 10, label="b")["order"]
    edited = trader.result("private/edit", {"order_id": first["order_id"], "amount": 40,
                                            "price": low - 5})  # fmt: skip
    assert edited["order"]["replaced"] is True and edited["order"]["amount"] == 40
    assert [lvl[1] for lvl in ex.book(PERP).bids if lvl[0] == low - 5] == [40.0]
    opened = trader.result("private/get_open_orders_by_instrument", {"instrument_name": PERP})
    assert {o["order_id"] for o in opened} == {first["order_id"], second["order_id"]}
    assert len(trader.result("private/get_open_orders_by_currency", {"currency": "BTC"})) == 2
    cancelled = trader.result("private/cancel", {"order_id": first["order_id"]})
    assert cancelled["order_state"] == "cancelled" and cancelled["cancel_reason"] == "user_request"
    assert trader.error("private/cancel", {"order_id": first["order_id"]})["code"] == 11044
    assert (
        trader.error("private/edit", {"order_id": first["order_id"], "price": low})["code"] == 11044
    )
    assert trader.error("private/cancel", {"order_id": "999"})["code"] == 10004
    assert trader.error("private/get_order_state", {"order_id": "999"})["code"] == 10004
    assert trader.result("private/cancel_all_by_instrument", {"instrument_name": PERP}) == 1
    _buy(trader, amount=10, price=low)
    assert trader.result("private/cancel_all", {"detailed": False}) == 1
    assert all(lvl[0] > low - 20 for lvl in ex.book(PERP).bids)


def test_user_trades_paging(ex: LocalDeribit, trader: Rpc) -> None:
    for _ in range(3):
        _buy(trader, amount=10, type="market")
    got = trader.result("private/get_user_trades_by_instrument",
                        {"instrument_name": PERP, "count": 2, "sorting": "asc"})  # fmt: skip
    assert len(got["trades"]) == 2 and got["has_more"] is True
    assert got["trades"][0]["trade_seq"] < got["trades"][1]["trade_seq"]
    by_currency = trader.result("private/get_user_trades_by_currency", {"currency": "BTC"})
    assert len(by_currency["trades"]) == 3 and by_currency["has_more"] is False


def test_order_validation(ex: LocalDeribit, trader: Rpc) -> None:
    def code(**params: Any) -> int:
        return int(trader.error("private/buy", {"instrument_name": PERP, **params})["code"])

    assert code(amount=10, price=60000.3) == 10043  # off the 0.5 tick
    assert code(amount=15, price=60000) == -32602  # not a multiple of 10 USD
    assert code(amount=0, price=60000) == 10021
    assert code(amount=10) == -32602  # limit without price
    assert code(amount=10, price=60000, type="trailing_stop") == -32602
    assert code(amount=10, price=60000, type="stop_limit") == -32602  # no trigger_price
    assert code(amount=10, type="stop_market", trigger_price=60000.3) == 11036
    assert code(amount=10, price=-1) == 10023
    assert trader.error("private/buy", {"instrument_name": "NOPE", "amount": 10})["code"] == 10020
    assert code(amount=10, price=60000, label="x" * 65) == -32602
    assert code(amount=10_000_000_000, price=60000) == 10009  # not enough funds


def test_option_tick_steps(ex: LocalDeribit, trader: Rpc) -> None:
    name = next(n for n in ex.market.states if n.startswith("BTC-") and n.endswith("-C"))
    err = trader.error("private/buy", {"instrument_name": name, "amount": 0.1, "price": 0.0102})
    assert err["code"] == 10043  # above 0.005 the tick is 0.0005
    low = trader.result("private/buy", {"instrument_name": name, "amount": 0.1, "price": 0.0041})
    assert low["order"]["order_state"] == "open"  # below 0.005 the 0.0001 tick applies


def test_self_trade_is_flagged_and_the_book_never_crosses(ex: LocalDeribit, trader: Rpc) -> None:
    ask = ex.book(PERP).asks[0][0]
    resting = trader.result("private/sell", {"instrument_name": PERP, "amount": 10,
                                             "price": ask - 0.5})["order"]  # fmt: skip
    taken = _buy(trader, amount=10, price=ask - 0.5)
    assert taken["order"]["order_state"] == "filled"
    assert [t["self_trade"] for t in taken["trades"]] == [True]
    state = trader.result("private/get_order_state", {"order_id": resting["order_id"]})
    assert state["order_state"] == "filled"
    book = ex.book(PERP)
    assert book.bids[0][0] < book.asks[0][0]
    assert trader.result("private/get_positions", {"currency": "BTC"}) == []


def test_aggregated_user_orders_are_arrays_and_carry_the_label(
    ex: LocalDeribit, trader: Rpc
) -> None:
    channel = "user.orders.future.BTC.100ms"
    trader.result("private/subscribe", {"channels": [channel], "label": "my-sub"})
    placed = _buy(trader, amount=10, price=ex.book(PERP).bids[-1][0] - 50)["order"]
    frame = trader.next(lambda f: f.get("params", {}).get("channel") == channel)
    assert frame["params"]["label"] == "my-sub"
    assert [o["order_id"] for o in frame["params"]["data"]] == [placed["order_id"]]


def test_absurd_amount_is_a_param_error_and_the_socket_stays(trader: Rpc) -> None:
    for key in ("amount", "contracts"):
        err = trader.error("private/buy", {"instrument_name": PERP, key: 1e308, "price": 60000})
        assert err["code"] == -32602 and err["data"]["param"] == "amount"
    assert trader.result("public/test") == {"version": "1.2.26"}


def test_random_trading_keeps_the_chain_the_book_and_positions_consistent(
    make_deribit: Callable[..., LocalDeribit],
) -> None:
    import random

    from ccxtpro_sync.simulator.deribit import RateLimits

    from .test_market_data import apply, levels

    roomy = RateLimits(non_matching_rate=1000, non_matching_burst=1000, matching_rate=1000,
                       matching_burst=1000)  # fmt: skip
    ex = make_deribit(seed=9, auto_publish=False, rate_limits=roomy)
    trader, watcher = Rpc(ex.url), Rpc(ex.url)
    trader.login(ex)
    channel = "book.BTC-PERPETUAL.100ms"
    watcher.result("public/subscribe", {"channels": [channel]})
    snap = watcher.note(channel)
    book: dict[str, dict[float, float]] = {"bids": {}, "asks": {}}
    apply(book, snap)
    last = snap["change_id"]
    rng = random.Random(3)
    open_ids: list[str] = []
    for _ in range(120):
        roll = rng.random()
        truth = ex.book(PERP)
        mid = (truth.bids[0][0] + truth.asks[0][0]) / 2
        if roll < 0.45:
            side = rng.choice(["buy", "sell"])
            price = round((mid + rng.randint(-6, 6) * 0.5) * 2) / 2
            params = {"instrument_name": PERP, "amount": 10 * rng.randint(1, 8), "price": price}
            if rng.random() < 0.3:
                params = {"instrument_name": PERP, "amount": params["amount"], "type": "market"}
            result = trader.result(f"private/{side}", params)
            if result["order"]["order_state"] == "open":
                open_ids.append(result["order"]["order_id"])
        elif roll < 0.6 and open_ids:
            order_id = open_ids.pop(rng.randrange(len(open_ids)))
            frame = trader.call("private/cancel", {"order_id": order_id})
            assert "result" in frame or frame["error"]["code"] == 11044
        elif roll < 0.8:
            ex.trade(PERP, rng.choice(["buy", "sell"]), 10 * rng.randint(1, 10))
        else:
            ex.tick()
        truth = ex.book(PERP)
        assert truth.bids[0][0] < truth.asks[0][0], truth
    fills = trader.result("private/get_user_trades_by_instrument",
                          {"instrument_name": PERP, "count": 1000})["trades"]  # fmt: skip
    assert len(fills) > 20 and {f["liquidity"] for f in fills} == {"M", "T"}
    signed = sum(f["amount"] if f["direction"] == "buy" else -f["amount"] for f in fills)
    while True:
        try:
            change = watcher.note(channel, timeout=0.5)
        except TimeoutError:
            break
        assert change["prev_change_id"] == last
        apply(book, change)
        last = change["change_id"]
    truth = ex.book(PERP)
    assert last == truth.change_id
    assert (levels(book, "bids"), levels(book, "asks")) == (truth.bids, truth.asks)
    positions = trader.result("private/get_positions", {"currency": "BTC"})
    assert sum(p["size"] for p in positions) == pytest.approx(signed)
    trader.close()
    watcher.close()


def test_stop_market_waits_untriggered_then_fires_on_last_price(
    ex: LocalDeribit, trader: Rpc
) -> None:
    channel = "user.orders.BTC-PERPETUAL.raw"
    trader.result("private/subscribe", {"channels": [channel]})
    book = ex.book(PERP)
    trigger = book.asks[0][0] + 1.0
    stop = {"instrument_name": PERP, "amount": 20, "type": "stop_market",
            "trigger_price": trigger, "trigger": "last_price", "label": "stop-1"}  # fmt: skip
    placed = trader.result("private/buy", stop)["order"]
    assert placed["order_state"] == "untriggered" and placed["triggered"] is False
    assert placed["trigger_price"] == trigger and placed["price"] == "market_price"
    assert ex.book(PERP).asks == book.asks  # not in the book
    listed = trader.result("private/get_open_orders_by_instrument", {"instrument_name": PERP})
    assert [o["order_id"] for o in listed] == [placed["order_id"]]
    assert trader.note(channel)["order_state"] == "untriggered"
    # below the trigger: nothing happens
    ex.trade(PERP, "buy", book.asks[0][1])
    assert (
        trader.result("private/get_order_state", {"order_id": placed["order_id"]})["order_state"]
        == "untriggered"
    )
    # a print at or above the trigger fires it as a market order
    while ex.market.states[PERP].last_price < trigger:
        ex.trade(PERP, "buy", 10)

    def filled(frame: dict[str, Any]) -> bool:
        params = frame.get("params", {})
        return bool(params.get("channel") == channel and params["data"]["order_state"] == "filled")

    fired = trader.next(filled)["params"]["data"]
    assert fired["order_id"] == placed["order_id"] and fired["triggered"] is True
    assert fired["filled_amount"] == 20
    pos = trader.result("private/get_positions", {"currency": "BTC"})
    assert pos[0]["size"] == 20


def test_take_limit_edit_and_cancel_while_untriggered(ex: LocalDeribit, trader: Rpc) -> None:
    bid = ex.book(PERP).bids[0][0]
    placed = trader.result("private/sell", {"instrument_name": PERP, "amount": 10,
                                            "type": "take_limit", "price": bid + 50,
                                            "trigger_price": bid + 100})["order"]  # fmt: skip
    assert placed["order_state"] == "untriggered"
    edited = trader.result("private/edit", {"order_id": placed["order_id"], "amount": 30,
                                            "trigger_price": bid + 200})["order"]  # fmt: skip
    assert (edited["amount"], edited["trigger_price"], edited["replaced"]) == (
        30, bid + 200, True,
    )  # fmt: skip
    cancelled = trader.result("private/cancel", {"order_id": placed["order_id"]})
    assert cancelled["order_state"] == "cancelled"
    assert trader.error("private/cancel", {"order_id": placed["order_id"]})["code"] == 11044


def test_type_filters_and_time_windows(ex: LocalDeribit, trader: Rpc) -> None:
    import time

    start = int(time.time() * 1000) - 1
    low = ex.book(PERP).bids[-1][0] - 100
    limit_id = _buy(trader, amount=10, price=low)["order"]["order_id"]
    stop_id = _buy(trader, amount=10, type="stop_market",
                   trigger_price=ex.book(PERP).asks[0][0] + 500)["order"]["order_id"]  # fmt: skip
    triggers = trader.result("private/get_open_orders_by_currency",
                             {"currency": "BTC", "type": "trigger_all"})  # fmt: skip
    assert [o["order_id"] for o in triggers] == [stop_id]
    limits = trader.result("private/get_open_orders_by_instrument",
                           {"instrument_name": PERP, "type": "limit"})  # fmt: skip
    assert [o["order_id"] for o in limits] == [limit_id]
    assert trader.error("private/get_open_orders_by_currency",
                        {"currency": "BTC", "type": "weird"})["code"] == -32602  # fmt: skip
    assert trader.result("private/cancel_all_by_instrument",
                         {"instrument_name": PERP, "type": "limit"}) == 1  # fmt: skip
    assert trader.result("private/cancel_all_by_currency", {"currency": "BTC"}) == 1
    _buy(trader, amount=10, type="market")
    end = int(time.time() * 1000) + 1
    window = {"currency": "BTC", "start_timestamp": start, "end_timestamp": end}
    mine = trader.result("private/get_user_trades_by_currency_and_time", window)
    assert mine["trades"] and all(start <= t["timestamp"] <= end for t in mine["trades"])
    half_open_window = {"currency": "BTC", "start_timestamp": start}
    err = trader.error("private/get_user_trades_by_currency_and_time", half_open_window)
    assert err["code"] == -32602
    public = trader.result("public/get_last_trades_by_instrument_and_time",
                           {"instrument_name": PERP, "start_timestamp": start,
                            "end_timestamp": end, "count": 100})  # fmt: skip
    assert {t["trade_id"] for t in mine["trades"]} <= {t["trade_id"] for t in public["trades"]}


def test_close_position_and_cancel_by_label(ex: LocalDeribit, trader: Rpc) -> None:
    assert trader.error("private/close_position",
                        {"instrument_name": PERP, "type": "market"})["code"] == 11030  # fmt: skip
    trader.result("private/sell", {"instrument_name": PERP, "amount": 40, "type": "market"})
    closed = trader.result("private/close_position", {"instrument_name": PERP, "type": "market"})
    order = closed["order"]
    assert (order["direction"], order["amount"], order["reduce_only"]) == ("buy", 40, True)
    assert trader.result("private/get_positions", {"currency": "BTC"}) == []
    low = ex.book(PERP).bids[-1][0] - 100
    for _ in range(2):
        _buy(trader, amount=10, price=low, label="grid")
    _buy(trader, amount=10, price=low, label="keep")
    assert trader.result("private/cancel_by_label", {"label": "grid"}) == 2
    left = trader.result("private/get_open_orders_by_label", {"label": "keep"})
    assert len(left) == 1 and left[0]["label"] == "keep"
