"""Generated market data: payload shapes, cadences, sequence rules and book consistency."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection

from ccxtpro_sync.simulator import LocalExchange

from .conftest import Factory, recv_json, recv_until, ws_connect

SENTINEL = {"sentinel": True}


def keys(spaced: str) -> set[str]:
    """Field names written the way the reference lists them."""
    return set(spaced.split(" "))


def drain(ex: LocalExchange, ws: ClientConnection, market: str, stream: str) -> list[Any]:
    """Everything pushed so far: the outbox is FIFO, so a sentinel marks the end."""
    ex.publish(market, stream, SENTINEL)  # type: ignore[arg-type]
    out = []
    while True:
        msg = recv_json(ws)
        data = msg.get("data", msg) if isinstance(msg, dict) else msg
        if data == SENTINEL:
            return out
        out.append(msg)


def by_stream(msgs: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for m in msgs:
        out.setdefault(m["stream"], []).append(m["data"])
    return out


def combined(
    ex: LocalExchange, market: str, streams: list[str], route: str = ""
) -> ClientConnection:
    ws = ws_connect(
        ex.urls(market)["ws"]
        + route  # type: ignore[arg-type]
        + "/stream?streams="
        + "/".join(streams)
    )
    ex.wait_for_subscription(streams[-1], market=market)  # type: ignore[arg-type]
    return ws


def test_spot_payload_shapes(ex: LocalExchange) -> None:
    streams = [
        "btcusdt@trade",
        "btcusdt@aggTrade",
        "btcusdt@bookTicker",
        "btcusdt@ticker",
        "btcusdt@miniTicker",
        "!miniTicker@arr",
        "btcusdt@kline_1m",
        "btcusdt@depth5",
        "btcusdt@depth20@100ms",
        "btcusdt@depth",
    ]
    with combined(ex, "spot", streams) as ws:
        ex.tick(40)
        got = by_stream(drain(ex, ws, "spot", "btcusdt@trade"))
    assert set(got) == set(streams)
    trade = got["btcusdt@trade"][0]
    assert set(trade) == {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
    assert trade["e"] == "trade" and trade["s"] == "BTCUSDT"
    assert len(trade["p"].split(".")[1]) == 8  # spot prints 8 decimals
    agg = got["btcusdt@aggTrade"][0]
    assert set(agg) == {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}
    trade_ids = {t["t"] for t in got["btcusdt@trade"]}
    for a in got["btcusdt@aggTrade"]:
        assert set(range(a["f"], a["l"] + 1)) <= trade_ids
    assert set(got["btcusdt@bookTicker"][0]) == {"u", "s", "b", "B", "a", "A"}
    ticker = got["btcusdt@ticker"][0]
    assert set(ticker) == keys("e E s p P w x c Q b B a A o h l v q O C F L n")
    assert ticker["e"] == "24hrTicker" and ticker["C"] - ticker["O"] == 86_400_000
    assert set(got["btcusdt@miniTicker"][0]) == keys("e E s c o h l v q")
    arr = got["!miniTicker@arr"][0]
    assert isinstance(arr, list) and {m["e"] for m in arr} == {"24hrMiniTicker"}
    kline = got["btcusdt@kline_1m"][-1]
    assert set(kline) == {"e", "E", "s", "k"}
    assert set(kline["k"]) == keys("t T s i f L o c h l v n x q V Q B")
    assert kline["k"]["T"] - kline["k"]["t"] == 59_999 and kline["k"]["i"] == "1m"
    d5 = got["btcusdt@depth5"][0]
    assert set(d5) == {"lastUpdateId", "bids", "asks"} and len(d5["bids"]) == 5
    assert len(got["btcusdt@depth20@100ms"][0]["asks"]) == 20
    assert set(got["btcusdt@depth"][0]) == {"e", "E", "s", "U", "u", "b", "a"}


def test_usdm_payload_shapes(ex: LocalExchange) -> None:
    market_streams = [
        "btcusdt@aggTrade",
        "btcusdt@ticker",
        "btcusdt@miniTicker",
        "btcusdt@markPrice@1s",
        "!markPrice@arr",
        "!ticker@arr",
        "!forceOrder@arr",
        "btcusdt@kline_1m",
    ]
    public_streams = ["btcusdt@bookTicker", "!bookTicker", "btcusdt@depth5", "btcusdt@depth@100ms"]
    with (
        combined(ex, "usdm", market_streams, "/market") as m,
        combined(ex, "usdm", public_streams, "/public") as p,
    ):
        ex.tick(200)
        got = by_stream(drain(ex, m, "usdm", "btcusdt@aggTrade"))
        got.update(by_stream(drain(ex, p, "usdm", "btcusdt@bookTicker")))
    assert set(got) == set(market_streams + public_streams)
    assert set(got["btcusdt@aggTrade"][0]) == keys("e E s a p q nq f l T m")
    assert set(got["btcusdt@ticker"][0]) == keys("e E s p P w c Q o h l v q O C F L n")
    mark = got["btcusdt@markPrice@1s"][0]
    assert set(mark) == {"e", "E", "s", "p", "i", "P", "r", "T", "ap"}
    assert mark["T"] % (8 * 3_600_000) == 0 and mark["T"] > mark["E"]
    marks = got["!markPrice@arr"][0]
    assert {x["s"] for x in marks} == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BTCUSDT_261225"}
    quarter = next(x for x in marks if x["s"] == "BTCUSDT_261225")
    assert quarter["r"] == "" and quarter["T"] == 0
    assert isinstance(got["!ticker@arr"][0], list)
    force = got["!forceOrder@arr"][0]
    assert force["e"] == "forceOrder"
    assert set(force["o"]) == keys("s S o f q p ap X l z T")
    bt = got["btcusdt@bookTicker"][0]
    assert set(bt) == {"e", "u", "E", "T", "s", "b", "B", "a", "A"}
    assert {x["s"] for x in got["!bookTicker"]} <= {
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
        "BTCUSDT_261225",
    }
    # futures partial depth is a depthUpdate with the pu chain
    partial = got["btcusdt@depth5"]
    assert set(partial[0]) == keys("e E T s U u pu b a") and len(partial[0]["b"]) == 5
    for prev, cur in pairwise(partial):
        assert cur["pu"] == prev["u"]
    assert len(got["btcusdt@depth@100ms"][0]["b"][0][0].split(".")[1]) == 2  # pricePrecision


def test_coinm_payloads_carry_pair(ex: LocalExchange) -> None:
    with combined(
        ex,
        "coinm",
        ["btcusd_perp@depth@100ms", "btcusd_261225@markPrice@1s", "btcusd_perp@aggTrade"],
    ) as ws:
        ex.tick(40)
        got = by_stream(drain(ex, ws, "coinm", "btcusd_perp@depth@100ms"))
    assert got["btcusd_perp@depth@100ms"][0]["ps"] == "BTCUSD"
    assert got["btcusd_261225@markPrice@1s"][0]["r"] == ""
    assert "nq" not in got["btcusd_perp@aggTrade"][0]
    assert float(got["btcusd_perp@aggTrade"][0]["q"]).is_integer()  # contracts


def test_cadences_in_ticks(ex: LocalExchange) -> None:
    """tick_interval 50 ms: @depth (1000 ms) every 20 ticks, @depth@100ms every 2."""
    with combined(ex, "spot", ["ethusdt@depth", "ethusdt@depth@100ms", "ethusdt@ticker"]) as ws:
        ex.tick(40)
        got = by_stream(drain(ex, ws, "spot", "ethusdt@depth"))
    assert len(got["ethusdt@depth"]) == 2 and len(got["ethusdt@ticker"]) == 2
    assert len(got["ethusdt@depth@100ms"]) == 20
    assert got["ethusdt@depth"][-1]["u"] == got["ethusdt@depth@100ms"][-1]["u"]


def test_speed_compresses_cadences(make_exchange: Factory) -> None:
    ex = make_exchange(seed=1, auto_publish=False, speed=10)
    with combined(ex, "spot", ["ethusdt@depth"]) as ws:
        ex.tick(20)
        assert len(drain(ex, ws, "spot", "ethusdt@depth")) == 10


def _apply(book: dict[str, dict[Decimal, Decimal]], event: dict[str, Any]) -> None:
    for side, key in (("bids", "b"), ("asks", "a")):
        for p, q in event[key]:
            if Decimal(q) == 0:
                book[side].pop(Decimal(p), None)
            else:
                book[side][Decimal(p)] = Decimal(q)


def _true_book(ex: LocalExchange, market: str, symbol: str) -> tuple[dict[str, Any], int]:
    snap = ex.book(market, symbol)  # type: ignore[arg-type]
    return (
        {
            "bids": {Decimal(p): Decimal(q) for p, q in snap.bids},
            "asks": {Decimal(p): Decimal(q) for p, q in snap.asks},
        },
        snap.last_update_id,
    )


@pytest.mark.parametrize(
    ("market", "symbol", "path"),
    [
        ("spot", "BTCUSDT", "/api/v3/depth"),
        ("usdm", "ETHUSDT", "/fapi/v1/depth"),
        ("coinm", "BTCUSD_PERP", "/dapi/v1/depth"),
    ],
)
def test_local_book_from_snapshot_and_diffs(
    ex: LocalExchange, market: str, symbol: str, path: str
) -> None:
    """Binance's documented book procedure reproduces the true book exactly."""
    spot = market == "spot"
    stream = symbol.lower() + "@depth@100ms"
    route = "" if market != "usdm" else "/public"
    with ws_connect(ex.urls(market)["ws"] + route + "/ws/" + stream) as ws:  # type: ignore[arg-type]
        ex.wait_for_subscription(stream)
        ex.tick(6)
        limit = 5000 if spot else 1000
        snap = requests.get(
            ex.urls(market)["rest"] + path,  # type: ignore[arg-type]
            params={"symbol": symbol, "limit": limit},
            timeout=5,
        ).json()
        ex.tick(30)
        events = drain(ex, ws, market, stream)
    last = snap["lastUpdateId"]
    book = {
        "bids": {Decimal(p): Decimal(q) for p, q in snap["bids"]},
        "asks": {Decimal(p): Decimal(q) for p, q in snap["asks"]},
    }
    assert events[0]["U"] <= last  # the stream started before the snapshot
    live = [e for e in events if (e["u"] > last if spot else e["u"] >= last)]
    first = live[0]
    assert first["U"] <= (last + 1 if spot else last) and first["u"] >= last
    for prev, cur in pairwise(events):
        if spot:
            assert cur["U"] == prev["u"] + 1
        else:
            assert cur["pu"] == prev["u"]
    for e in live:
        _apply(book, e)
    truth, true_id = _true_book(ex, market, symbol)
    assert live[-1]["u"] == true_id
    assert book == truth


def test_futures_ids_jump_but_pu_chains(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("usdm")["ws"] + "/public/ws/btcusdt@depth@100ms") as ws:
        ex.wait_for_subscription("btcusdt@depth@100ms")
        ex.tick(20)
        events = drain(ex, ws, "usdm", "btcusdt@depth@100ms")
    assert any(cur["U"] > prev["u"] + 1 for prev, cur in pairwise(events))


def test_true_book_is_realistic(ex: LocalExchange) -> None:
    ex.tick(100)
    for market, symbol, tick in (
        ("spot", "ETHBTC", Decimal("0.00001")),
        ("usdm", "BTCUSDT", Decimal("0.1")),
        ("coinm", "ETHUSD_PERP", Decimal("0.01")),
    ):
        snap = ex.book(market, symbol)  # type: ignore[arg-type]
        assert 250 <= len(snap.bids) <= 400 and 250 <= len(snap.asks) <= 400
        best_bid, best_ask = Decimal(snap.bids[0][0]), Decimal(snap.asks[0][0])
        assert 0 < best_ask - best_bid <= 50 * tick
        assert all(Decimal(p) % tick == 0 for p, _ in snap.bids + snap.asks)
    assert len(ex.book("spot", "btcusdt", depth=3).bids) == 3


def test_same_seed_same_market(make_exchange: Factory) -> None:
    a = make_exchange(seed=42, auto_publish=False)
    b = make_exchange(seed=42, auto_publish=False)
    c = make_exchange(seed=43, auto_publish=False)
    for ex in (a, b, c):
        ex.tick(50)
    assert a.book("spot", "BTCUSDT") == b.book("spot", "BTCUSDT")
    assert a.book("usdm", "SOLUSDT") == b.book("usdm", "SOLUSDT")
    assert a.book("spot", "BTCUSDT") != c.book("spot", "BTCUSDT")


def test_explicit_publish_reaches_raw_and_combined(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/ws/btcusdt@bookTicker") as raw:
        ex.wait_for_subscription("btcusdt@bookTicker")
        ex.publish("spot", "btcusdt@bookTicker", {"u": 1, "s": "BTCUSDT"})
        assert recv_json(raw) == {"u": 1, "s": "BTCUSDT"}


def test_kline_closes_on_interval(live: LocalExchange) -> None:
    with ws_connect(live.urls("spot")["ws"] + "/ws/btcusdt@kline_1s") as ws:
        closed = recv_until(ws, lambda m: m["k"]["x"], timeout=3)
        nxt = recv_until(ws, lambda m: not m["k"]["x"], timeout=3)
    assert nxt["k"]["t"] == closed["k"]["T"] + 1


def test_auto_publish_streams(live: LocalExchange) -> None:
    with ws_connect(live.urls("usdm")["ws"] + "/market/ws/btcusdt@aggTrade") as ws:
        first = recv_json(ws)
        second = recv_json(ws)
    assert second["a"] > first["a"]


def test_usdm_trade_stream_on_the_public_route(ex: LocalExchange) -> None:
    """USD-M ``<symbol>@trade`` is served on ``/public`` (the live server does; ccxt.pro
    subscribes to it there) and stays silent on ``/market``, like other public streams."""
    with (
        combined(ex, "usdm", ["btcusdt@trade"], "/public") as public,
        combined(ex, "usdm", ["btcusdt@trade", "btcusdt@aggTrade"], "/market") as market,
    ):
        ex.tick(40)
        trades = by_stream(drain(ex, public, "usdm", "btcusdt@trade"))["btcusdt@trade"]
        elsewhere = by_stream(drain(ex, market, "usdm", "btcusdt@aggTrade"))
    assert trades and "btcusdt@trade" not in elsewhere
    trade = trades[0]
    assert set(trade) == {"e", "E", "T", "s", "t", "p", "q", "X", "m"}
    assert (trade["e"], trade["s"], trade["X"]) == ("trade", "BTCUSDT", "MARKET")
    assert [t["t"] for t in trades] == sorted({t["t"] for t in trades})


def test_an_interval_without_trades_still_gets_its_candle() -> None:
    """Binance serves a candle for every interval, with no volume when nothing traded:
    an exchange idle for several intervals closes each of them, open times consecutive."""
    from ccxtpro_sync.simulator.catalog import DEFAULT_SYMBOLS
    from ccxtpro_sync.simulator.market import SymbolState

    start = 1_800_000_000_000  # on a second boundary
    st = SymbolState(DEFAULT_SYMBOLS["spot"][0], "spot", start)
    st.roll_candles(start + 4_500)  # four 1s intervals ended, none traded
    opens = [c.open_time for c in st.candle_history["1s"]]
    assert opens == [start, start + 1_000, start + 2_000, start + 3_000]
    assert st.candles["1s"].open_time == start + 4_000
    assert all(c.volume == 0 and c.closed for c in st.candle_history["1s"])
