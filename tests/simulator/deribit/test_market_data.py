"""Book chain, trades, tickers, candles and their request/response forms (§6, §9)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ccxtpro_sync.simulator.deribit import LocalDeribit

from .conftest import Rpc, fixture

BOOK = "book.BTC-PERPETUAL.100ms"


def apply(book: dict[str, dict[float, float]], data: dict[str, Any]) -> None:
    for side in ("bids", "asks"):
        for action, price, amount in data[side]:
            if action == "delete" or amount == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = amount


def levels(book: dict[str, dict[float, float]], side: str) -> list[list[float]]:
    prices = sorted(book[side], reverse=side == "bids")
    return [[p, book[side][p]] for p in prices]


def test_snapshot_then_chained_changes_equal_the_true_book(
    ex: LocalDeribit, rpc: Callable[[], Rpc]
) -> None:
    client = rpc()
    ack = client.result("public/subscribe", {"channels": [BOOK, "book.NOPE-PERPETUAL.100ms",
                                                          "book.BTC-PERPETUAL.50ms"]})  # fmt: skip
    assert ack == [BOOK]  # bad instrument and interval dropped silently
    snap = client.note(BOOK)
    assert snap["type"] == "snapshot" and "prev_change_id" not in snap
    assert set(fixture("book_snapshot.json")["params"]["data"]) == set(snap)
    book: dict[str, dict[float, float]] = {"bids": {}, "asks": {}}
    apply(book, snap)
    last = snap["change_id"]
    for _ in range(30):
        ex.tick()
    seen = 0
    while True:
        try:
            change = client.note(BOOK, timeout=0.5)
        except TimeoutError:
            break
        assert change["type"] == "change" and change["prev_change_id"] == last
        assert set(fixture("book_change.json")["params"]["data"]) == set(change)
        apply(book, change)
        last = change["change_id"]
        seen += 1
    assert seen >= 10
    truth = ex.book("BTC-PERPETUAL")
    assert truth.change_id == last
    assert (levels(book, "bids"), levels(book, "asks")) == (truth.bids, truth.asks)
    assert max(book["bids"]) < min(book["asks"])


def test_resubscribe_brings_no_snapshot_and_unsubscribe(
    ex: LocalDeribit, rpc: Callable[[], Rpc]
) -> None:
    client = rpc()
    client.result("public/subscribe", {"channels": [BOOK]})
    assert client.note(BOOK)["type"] == "snapshot"
    assert client.result("public/subscribe", {"channels": [BOOK]}) == [BOOK]
    ex.tick(3)
    assert client.note(BOOK)["type"] == "change"
    assert client.result("public/unsubscribe", {"channels": [BOOK, "ticker.X.100ms"]}) == [BOOK]
    assert client.result("public/unsubscribe_all") == "ok"


def test_gap_fault_breaks_the_chain(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    client.result("public/subscribe", {"channels": [BOOK]})
    last = client.note(BOOK)["change_id"]
    ex.faults.book_gap("BTC-PERPETUAL", changes=1)
    ex.tick(10)
    change = client.note(BOOK)
    assert change["prev_change_id"] != last  # the missing change is visible as a gap
    assert change["prev_change_id"] > last


def test_raw_needs_authentication(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    raw = "book.BTC-PERPETUAL.raw"
    err = client.error("public/subscribe", {"channels": [raw]})
    assert err["code"] == 13778
    client.login(ex)
    assert client.result("public/subscribe", {"channels": [raw]}) == [raw]
    assert client.note(raw)["type"] == "snapshot"


def test_trades_channel_and_backfill_by_seq(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    channel = "trades.BTC-PERPETUAL.100ms"
    client.result("public/subscribe", {"channels": [channel, "trades.future.BTC.100ms"]})
    printed = ex.trade("BTC-PERPETUAL", "buy", 500)
    assert printed
    data = client.note(channel)
    assert isinstance(data, list) and data == printed
    assert set(fixture("trades.json")["params"]["data"][0]) <= set(data[0])
    assert client.note("trades.future.BTC.100ms") == printed
    seqs = [t["trade_seq"] for t in data]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    for _ in range(5):
        ex.trade("BTC-PERPETUAL", "sell", 10)
    got = client.result("public/get_last_trades_by_instrument",
                        {"instrument_name": "BTC-PERPETUAL", "start_seq": seqs[0],
                         "count": 3, "sorting": "asc"})  # fmt: skip
    assert [t["trade_seq"] for t in got["trades"]] == list(range(seqs[0], seqs[0] + 3))
    assert got["has_more"] is True
    ranged = client.result("public/get_last_trades_by_instrument",
                           {"instrument_name": "BTC-PERPETUAL", "start_seq": seqs[0],
                            "end_seq": seqs[0] + 1, "sorting": "asc"})  # fmt: skip
    assert [t["trade_seq"] for t in ranged["trades"]] == [seqs[0], seqs[0] + 1]
    assert ranged["has_more"] is False
    ids = [t["trade_id"] for t in got["trades"]]
    assert len(set(ids)) == len(ids) and all(isinstance(i, str) for i in ids)


def test_ticker_quote_order_book_and_index(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    name = "BTC_USDC-PERPETUAL"
    chans = [f"ticker.{name}.100ms", f"quote.{name}", "deribit_price_index.btc_usd",
             f"book.{name}.none.10.100ms"]  # fmt: skip
    assert sorted(client.result("public/subscribe", {"channels": chans})) == sorted(chans)
    ex.tick(5)
    ticker = client.note(chans[0])
    assert set(fixture("ticker.json")["params"]["data"]) <= set(ticker)
    quote = client.note(chans[1])
    assert set(fixture("quote_data.json")) == set(quote)
    assert set(fixture("price_index_data.json")) == set(client.note(chans[2]))
    window = client.note(chans[3])
    assert set(fixture("book_window.json")["params"]["data"]) == set(window)
    assert len(window["bids"]) <= 10
    book = client.result("public/get_order_book", {"instrument_name": name, "depth": 3})
    truth = ex.book(name, 3)
    assert (book["change_id"], book["bids"], book["asks"]) == (
        truth.change_id, truth.bids, truth.asks,
    )  # fmt: skip
    assert book["best_bid_price"] == truth.bids[0][0]
    tick = client.result("public/ticker", {"instrument_name": name})
    assert tick["best_ask_price"] == truth.asks[0][0]


def test_chart_channel_and_tradingview_history(ex: LocalDeribit, rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    channel = "chart.trades.ETH-PERPETUAL.1"
    client.result("public/subscribe", {"channels": [channel]})
    start = int(time.time() * 1000)
    trades = ex.trade("ETH-PERPETUAL", "buy", 20)
    bar = client.note(channel)
    assert set(fixture("chart_trades.json")["params"]["data"]) == set(bar)
    assert bar["close"] == trades[-1]["price"] and bar["tick"] % 60_000 == 0
    hist = client.result("public/get_tradingview_chart_data",
                         {"instrument_name": "ETH-PERPETUAL", "start_timestamp": start - 60_000,
                          "end_timestamp": start + 60_000, "resolution": "1"})  # fmt: skip
    assert set(fixture("tradingview_chart_data_result.json")) == set(hist)
    assert hist["status"] == "ok" and hist["close"][-1] == trades[-1]["price"]
    empty = client.result("public/get_tradingview_chart_data",
                          {"instrument_name": "ETH-PERPETUAL", "start_timestamp": 0,
                           "end_timestamp": 60_000, "resolution": "1"})  # fmt: skip
    assert empty["status"] == "no_data" and empty["ticks"] == []


def test_same_seed_same_market(make_deribit: Callable[..., LocalDeribit]) -> None:
    a = make_deribit(seed=11, auto_publish=False)
    b = make_deribit(seed=11, auto_publish=False)
    a.tick(20)
    b.tick(20)
    ba, bb = a.book("ETH-PERPETUAL"), b.book("ETH-PERPETUAL")
    assert (ba.bids, ba.asks) == (bb.bids, bb.asks)
