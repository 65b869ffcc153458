"""A ticker payload a float client takes, but whose JSON the plain decode refuses.

A float client reads a ticker's numbers with a lax decode and keeps the payload's
bytes as ``info``. That decode skips keys it does not know without converting their
values, so a key Binance does not send holding a number no float can hold
(``"zz":1e400``, valid JSON) or, on the wire, a string that is not UTF-8, passes it:
the ticker is delivered. Turning that ``info`` into the exchange's dict
(``ticker["info"]``, ``to_dict()``, the recorder, the fan-out codec) then raised
msgspec's own error; the recorder's writer stopped on it, and with it every table's
recording. Such a payload now reads as its JSON object with the value kept as its
text, and the recorder goes on."""

from __future__ import annotations

import json
import threading
from typing import Any

import msgspec

import ccxtpro_sync
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market
from ccxtpro_sync.fanout.codec import decode_ticker, encode
from ccxtpro_sync.persistence import Recorder
from ccxtpro_sync.simulator import LocalExchange

from .support import SPOT, make_client, rows

TICKER = {"e": "24hrTicker", "E": 1672515782136, "s": "BTCUSDT", "p": "-93.49", "P": "-0.560",
          "w": "16627.4", "x": "16695.76", "c": "16602.26", "Q": "0.0067", "b": "16602.25",
          "B": "0.0569", "a": "16602.26", "A": "0.2922", "o": "16695.75", "h": "16773.18",
          "l": "16497.77", "v": "159435.48", "q": "2651010617.38", "O": 0, "C": 86400000,
          "F": 1, "L": 2, "n": 2}  # fmt: skip


class Closes:
    """An ``on_ticker`` consumer that waits for a ticker with a given close time."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, ticker: Any) -> None:
        with self._cond:
            self.seen.append(ticker)
            self._cond.notify_all()

    def wait_for(self, timestamp: int, timeout: float = 10.0) -> Any:
        def found() -> Any:
            return next((t for t in self.seen if t.timestamp == timestamp), None)

        with self._cond:
            ticker = self._cond.wait_for(found, timeout)
        assert ticker is not None, f"no ticker closing at {timestamp} ({len(self.seen)} seen)"
        return ticker


def test_a_ticker_with_an_out_of_range_unknown_number_is_recorded_over_sockets(
    manual_exchange: LocalExchange, tmp_path: Any
) -> None:
    url, ex = f"sqlite:///{tmp_path / 'hostile.sqlite'}", manual_exchange
    live = Closes()
    with make_client(ex) as client:
        recorder = Recorder(client, url, symbols=[SPOT], streams=["ticker"], raw=False)
        sub = client.on_ticker(SPOT, live)  # after the recorder: it has seen what we see
        ex.wait_for_subscription("btcusdt@ticker")
        # msgspec.Raw is written verbatim by the simulator's encoder: 1e400 on the wire.
        # (One at a time: tickers coalesce, a consumer sees the newest.)
        ex.publish("spot", "btcusdt@ticker", {**TICKER, "zz": msgspec.Raw(b"1e400")})
        odd = live.wait_for(86400000)
        ex.publish("spot", "btcusdt@ticker", {**TICKER, "C": 86400001})
        live.wait_for(86400001)
        assert odd.last == 16602.26
        info = odd["info"]
        assert info == {**TICKER, "zz": "1e400"}  # the number kept as its text
        assert odd.to_dict()["info"] == info
        assert recorder.flush(timeout=30), recorder.error
        report = recorder.close()
        sub.cancel()
    assert recorder.error is None, recorder.error
    stored = rows(url, "SELECT timestamp, info FROM tickers ORDER BY timestamp")
    closes = [ts for ts, _ in stored]
    assert 86400000 in closes and 86400001 in closes, closes
    (odd_info,) = [i for ts, i in stored if ts == 86400000]
    assert (json.loads(odd_info) if isinstance(odd_info, str) else odd_info)["zz"] == "1e400"
    assert report.written["tickers"] == len(stored)


def _streamed(body: bytes) -> Any:
    raw = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
           "filters": []}  # fmt: skip
    data = MarketData(Markets([parse_market(raw, "spot", float)], "spot", number=float))
    (delivery,) = data.route("btcusdt@ticker", msgspec.Raw(body), 0.0)
    return delivery.value


def test_a_ticker_with_a_non_utf8_unknown_string_reads_and_crosses_the_fan_out() -> None:
    # Not UTF-8 inside a key the lax decode skips (bytes; the local exchange sends text).
    body = json.dumps(TICKER).encode()[:-1] + b', "zz": "a\xffb"}'
    ticker = _streamed(body)
    assert ticker.last == 16602.26 and ticker.info.last_price == "16602.26"
    info = ticker["info"]
    assert info == {**TICKER, "zz": "a\ufffdb"}  # the bad byte replaced, nothing else lost
    assert ticker.to_dict()["info"] == info
    assert json.loads(json.dumps(ticker, default=ccxtpro_sync.to_jsonable))["info"] == info
    assert repr(ticker).startswith("Ticker(symbol='BTC/USDT'")  # repr never raises
    crossed = decode_ticker(encode(ticker))
    assert crossed.last == ticker.last and crossed["info"] == info
