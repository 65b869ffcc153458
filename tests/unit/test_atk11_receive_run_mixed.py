"""atk11: grouped routing (``receive_run``) on mixed bursts of several symbols.

glue's differential test drives one symbol's trades and diffs. Here a burst
interleaves two symbols' aggTrade, depth, ticker, miniTicker and bookTicker
frames with trade gaps (a backfill task), depth gaps (a resync), malformed frames,
error frames, subscribe replies, server shutdown notices and control frames, and
streams unsubscribed and subscribed again between bursts; run in groups it must mean
exactly what it means one ``receive`` at a time: the same deliveries in the same
order, the same errors, tasks and notices, and the same caches and books after."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import pytest

from ccxtpro_sync._core.frames import OP_PING, OP_TEXT
from ccxtpro_sync._core.rotation import DeliveredKeys
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync._exchanges.binance.rotation import RotationRouter
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol

from .test_receive_run import Messages, _in_runs, _one_by_one

SYMBOLS = ("ETHBTC", "LTCBTC")
KINDS = ("aggTrade", "depth@100ms", "ticker", "miniTicker", "bookTicker")


def _market(symbol: str) -> Any:
    raw = {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": symbol[:3],
        "quoteAsset": symbol[3:],
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": "0.00000100"},
            {"filterType": "LOT_SIZE", "stepSize": "0.00010000"},
        ],
    }
    return parse_market(raw, "spot", float)


def _setup() -> tuple[BinanceStreamProtocol, MarketData]:
    markets = Markets([_market(s) for s in SYMBOLS], "spot", number=float)
    data = MarketData(markets, fill_gaps=True)
    proto = BinanceStreamProtocol("ws://a", RotationRouter(data, threading.Lock(), DeliveredKeys()))
    proto.subscribe([f"{s.lower()}@{k}" for s in SYMBOLS for k in KINDS])
    proto.on_open(0.0)
    return proto, data


def _frame(stream: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"stream": stream, "data": data}, separators=(",", ":")).encode()


class _Burst:
    """Frames of both symbols, with their own consecutive ids, gaps when asked."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ids = {(s, k): 1 for s in SYMBOLS for k in KINDS}

    def next_id(self, symbol: str, kind: str, step: int = 1) -> int:
        key = (symbol, kind)
        if self.rng.random() < 0.01:
            self.ids[key] += self.rng.randint(2, 4)  # a gap
        first = self.ids[key]
        self.ids[key] += step
        return first

    def frame(self, symbol: str, kind: str) -> bytes:
        stream = f"{symbol.lower()}@{kind}"
        rng = self.rng
        price = f"{rng.randint(40, 60) / 1000:.3f}"
        if kind == "aggTrade":
            a = self.next_id(symbol, kind)
            return _frame(stream, {"e": "aggTrade", "E": 1, "s": symbol, "a": a, "p": price,
                                   "q": "2", "f": a, "l": a, "T": 1_700_000_000_000 + a,
                                   "m": False})  # fmt: skip
        if kind == "depth@100ms":
            step = rng.randint(1, 3)
            first = self.next_id(symbol, kind, step)
            return _frame(stream, {"e": "depthUpdate", "E": 1, "s": symbol, "U": first,
                                   "u": first + step - 1, "b": [[price, "1"]],
                                   "a": [["0.07", "1"]]})  # fmt: skip
        if kind == "ticker":
            return _frame(stream, {"e": "24hrTicker", "E": 2, "s": symbol, "p": "0.001",
                                   "P": "2.0", "w": "0.05", "x": "0.049", "c": price,
                                   "Q": "1", "b": "0.049", "B": "3", "a": "0.051", "A": "4",
                                   "o": "0.049", "h": "0.06", "l": "0.04", "v": "100",
                                   "q": "5", "O": 0, "C": 1_700_000_000_000, "F": 1,
                                   "L": 9, "n": 9})  # fmt: skip
        if kind == "miniTicker":
            return _frame(stream, {"e": "24hrMiniTicker", "E": 3, "s": symbol, "c": price,
                                   "o": "0.05", "h": "0.06", "l": "0.04", "v": "10",
                                   "q": "0.5"})  # fmt: skip
        u = self.next_id(symbol, kind)
        return _frame(stream, {"u": u, "s": symbol, "b": price, "B": "1", "a": "0.07",
                               "A": "2"})  # fmt: skip

    def hostile(self) -> tuple[int, bytes]:
        rng = self.rng
        symbol = rng.choice(SYMBOLS)
        ids = dict(self.ids)
        good = self.frame(symbol, rng.choice(KINDS))
        self.ids = ids  # a spoilt frame takes no id: no gap of its own
        return rng.choice(
            [
                (OP_TEXT, good.replace(b'"p":"', b'"p":5,"x":"')),  # a bad number
                (OP_TEXT, good[:-2]),  # cut short
                (OP_TEXT, good.replace(b'"s":"', b'"s":"X')),  # another symbol inside
                (OP_TEXT, b'{"result":null,"id":%d}' % rng.randint(1, 9)),  # a reply
                (OP_TEXT, b'{"code":2,"msg":"Invalid request","id":%d}' % rng.randint(1, 9)),
                (OP_TEXT, b'{"stream":"ltcbtc@aggTrade","data":{"e":"aggTrade"}}'),
                (OP_TEXT, rng.choice([b"", b"{", b'{"stream":"', b"[]", b"null"])),
                (OP_TEXT, b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}'),
                (OP_PING, b""),
            ]
        )

    def messages(self, count: int) -> Messages:
        rng = self.rng
        out: Messages = []
        run_of: tuple[str, str] | None = None
        for _ in range(count):
            if rng.random() < 0.1:
                out.append(self.hostile())
                continue
            if run_of is None or rng.random() < 0.3:  # runs of one stream, interleaved
                run_of = (rng.choice(SYMBOLS), rng.choice(KINDS))
            out.append((OP_TEXT, self.frame(*run_of)))
        return out


def _state(data: MarketData) -> Any:
    trades = {s: [(t.id, t.price) for t in c] for s, c in data.trades.items()}
    books = {s: (b.book.snapshot(), b.needs_snapshot, b.stats) for s, b in data.books.items()}
    return trades, books, data.tasks, [n for n, _ in data.notices]


def _snapshots(burst: _Burst, *datas: MarketData) -> None:
    """A REST snapshot for each book, chained to the next diff the burst will send
    (the same for both sides), so books sync, deliver, and resync on a depth gap."""
    for symbol in SYMBOLS:
        last = burst.ids[(symbol, "depth@100ms")] - 1
        body = b'{"lastUpdateId":%d,"bids":[["0.04","2"]],"asks":[["0.08","1"]]}' % last
        for data in datas:
            data.apply_snapshot(f"{symbol[:3]}/{symbol[3:]}", body, 1000)


@pytest.mark.parametrize("seed", range(16))
def test_atk11_a_mixed_burst_of_two_symbols_means_the_same_in_runs(seed: int) -> None:
    rng = random.Random(seed)
    burst = _Burst(rng)
    one, one_data = _setup()
    run, run_data = _setup()
    # The first part binds the streams (the general path); later ones take the bound
    # one, with snapshots in between so that the books deliver and resync.
    dropped = ["ltcbtc@aggTrade", "ethbtc@depth@100ms"]
    for part in range(8):
        if part == 3:  # frames of streams given up go on arriving until the reply
            one.unsubscribe(dropped)
            run.unsubscribe(dropped)
        if part == 5:  # and wanted again: bound again by their next frame
            one.subscribe(dropped)
            run.subscribe(dropped)
        messages = burst.messages(40 if part == 0 else rng.randint(50, 200))
        assert _in_runs(run, messages) == _one_by_one(one, messages)
        assert _state(run_data) == _state(one_data)
        _snapshots(burst, one_data, run_data)
    assert set(run._bound) == set(one._bound) and len(run._bound) >= len(KINDS)
