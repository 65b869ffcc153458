"""Market-stream connection protocol: paths, live subscriptions, errors, limits, routing."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ccxtpro_sync.simulator import LocalExchange

from .conftest import Factory, recv_json, request, ws_connect


def test_raw_and_combined_paths(ex: LocalExchange) -> None:
    base = ex.urls("spot")["ws"]
    with (
        ws_connect(base + "/ws/btcusdt@trade/ethusdt@trade") as raw,
        ws_connect(base + "/stream?streams=btcusdt@trade/ethusdt@trade") as comb,
    ):
        ex.wait_for_connections(2)
        ex.publish("spot", "ethusdt@trade", {"x": 1})
        assert recv_json(raw) == {"x": 1}
        assert recv_json(comb) == {"stream": "ethusdt@trade", "data": {"x": 1}}
        assert request(raw, {"method": "GET_PROPERTY", "params": ["combined"], "id": 1}) == {
            "result": False,
            "id": 1,
        }
        assert request(comb, {"method": "GET_PROPERTY", "params": ["combined"], "id": 2}) == {
            "result": True,
            "id": 2,
        }


def test_subscribe_list_unsubscribe(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/ws") as ws:
        assert request(
            ws, {"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@depth"], "id": 1}
        ) == {"result": None, "id": 1}
        ex.wait_for_subscription("btcusdt@depth")
        assert request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 3}) == {
            "result": ["btcusdt@aggTrade", "btcusdt@depth"],
            "id": 3,
        }
        assert request(ws, {"method": "UNSUBSCRIBE", "params": ["btcusdt@depth"], "id": 312}) == {
            "result": None,
            "id": 312,
        }
        assert request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": 4})["result"] == [
            "btcusdt@aggTrade"
        ]
        # SET_PROPERTY combined switches the wrapping of later pushes
        assert request(ws, {"method": "SET_PROPERTY", "params": ["combined", True], "id": 5}) == {
            "result": None,
            "id": 5,
        }
        ex.publish("spot", "btcusdt@aggTrade", {"a": 1})
        assert recv_json(ws) == {"stream": "btcusdt@aggTrade", "data": {"a": 1}}
        info = ex.connections("spot")[0]
        assert info.subscriptions == ("btcusdt@aggTrade",) and info.combined
        assert info.messages_received == 5


@pytest.mark.parametrize("req_id", [7, -3, 2**63 - 1, "abc123", "A" * 36, None])
def test_id_forms_are_echoed(ex: LocalExchange, req_id: object) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/ws") as ws:
        assert request(ws, {"method": "LIST_SUBSCRIPTIONS", "id": req_id}) == {
            "result": [],
            "id": req_id,
        }


@pytest.mark.parametrize(
    ("req", "code", "msg_start", "echo_id"),
    [
        ('{"method": "SUBSCRIBE", ', 3, "Invalid JSON: expected value at line 1", None),
        ({"params": [], "id": 1}, 2, "Invalid request: missing field `method`", None),
        (
            {"method": "SUBSCRIBE", "params": ["btcusdt@trade"]},
            2,
            "Invalid request: request ID must be an unsigned integer",
            None,
        ),
        ({"method": "LIST_SUBSCRIPTIONS", "id": 1.5}, 2, "Invalid request: request ID", None),
        ({"method": "LIST_SUBSCRIPTIONS", "id": True}, 2, "Invalid request: request ID", None),
        ({"method": "LIST_SUBSCRIPTIONS", "id": "x" * 37}, 2, "Invalid request: request ID", None),
        ({"method": "LIST_SUBSCRIPTIONS", "id": 2**63}, 2, "Invalid request: request ID", None),
        (
            {"method": "PING", "id": 9},
            2,
            "Invalid request: unknown variant `PING`, expected one "
            "of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
            9,
        ),
        ({"method": "SET_PROPERTY", "params": ["colour", True], "id": 4}, 0, "Unknown property", 4),
        (
            {"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 4},
            1,
            "Invalid value type: expected Boolean",
            4,
        ),
        (
            {"method": "GET_PROPERTY", "params": [5], "id": 4},
            2,
            "Invalid request: property name must be a string",
            4,
        ),
        (
            {"method": "GET_PROPERTY", "params": ["combined", 1], "id": 4},
            2,
            "Invalid request: too many parameters",
            4,
        ),
        (
            {"method": "SUBSCRIBE", "params": ["BTCUSDT@trade"], "id": 6},
            2,
            "Invalid request: invalid stream",
            6,
        ),
        (
            {"method": "SUBSCRIBE", "params": ["xyzusdt@trade"], "id": 6},
            2,
            "Invalid request: invalid stream",
            6,
        ),
        (
            {"method": "SUBSCRIBE", "params": ["btcusdt@depth@250ms"], "id": 6},
            2,
            "Invalid request: invalid stream",
            6,
        ),
        (
            {"method": "SUBSCRIBE", "params": ["!ticker@arr"], "id": 6},
            2,
            "Invalid request: invalid stream",
            6,
        ),
    ],
)
def test_error_replies(
    ex: LocalExchange, req: object, code: int, msg_start: str, echo_id: object
) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/ws") as ws:
        reply = request(ws, req if isinstance(req, str) else json.dumps(req))
        assert set(reply) == {"error", "id"} and reply["id"] == echo_id
        assert reply["error"]["code"] == code and reply["error"]["msg"].startswith(msg_start)


def test_every_documented_stream_is_accepted(ex: LocalExchange) -> None:
    intervals = [
        "1s",
        "1m",
        "3m",
        "5m",
        "15m",
        "30m",
        "1h",
        "2h",
        "4h",
        "6h",
        "8h",
        "12h",
        "1d",
        "3d",
        "1w",
        "1M",
    ]
    spot = [
        "btcusdt@trade",
        "btcusdt@aggTrade",
        "btcusdt@ticker",
        "btcusdt@miniTicker",
        "!miniTicker@arr",
        "btcusdt@bookTicker",
        "btcusdt@depth",
        "btcusdt@depth@100ms",
        *[f"ethbtc@depth{n}{s}" for n in (5, 10, 20) for s in ("", "@100ms")],
        *[f"bnbusdt@kline_{i}" for i in intervals],
    ]
    fut = [
        "btcusdt@aggTrade",
        "btcusdt@ticker",
        "btcusdt@miniTicker",
        "btcusdt@bookTicker",
        "btcusdt@markPrice",
        "btcusdt@markPrice@1s",
        "btcusdt@forceOrder",
        "!bookTicker",
        "!ticker@arr",
        "!miniTicker@arr",
        "!forceOrder@arr",
        "!markPrice@arr",
        "!markPrice@arr@1s",
        "btcusdt_261225@depth",
        "btcusdt@depth@500ms",
        "btcusdt@depth@100ms",
        "btcusdt@depth5",
        "btcusdt@depth10@500ms",
        "btcusdt@depth20@100ms",
        *[f"solusdt@kline_{i}" for i in intervals[1:]],
    ]
    cm = ["btcusd_perp@depth", "ethusd_perp@markPrice@1s", "btcusd_261225@aggTrade", "!bookTicker"]
    for market, names in (("spot", spot), ("usdm", fut), ("coinm", cm)):
        with ws_connect(ex.urls(market)["ws"] + "/ws") as ws:  # type: ignore[arg-type]
            reply = request(ws, {"method": "SUBSCRIBE", "params": names, "id": 1})
            assert reply == {"result": None, "id": 1}, (market, reply)
    with ws_connect(ex.urls("usdm")["ws"] + "/ws") as ws:
        assert "error" in request(
            ws, {"method": "SUBSCRIBE", "params": ["btcusdt@kline_1s"], "id": 1}
        )
    with ws_connect(ex.urls("coinm")["ws"] + "/ws") as ws:
        assert "error" in request(
            ws, {"method": "SUBSCRIBE", "params": ["!markPrice@arr"], "id": 1}
        )


@pytest.mark.parametrize("path", ["/spot/ws/0", "/usdm/public/ws/3", "/spot/ws/BTCUSDT@trade"])
def test_raw_path_without_stream_serves_nothing_until_subscribe(
    ex: LocalExchange, path: str
) -> None:
    """ccxt.pro connects to ``<base>/ws/<n>`` (its own counter) and subscribes live, as
    Binance allows: the handshake succeeds and no stream is served until SUBSCRIBE."""
    base = ex.urls("spot")["ws"].rsplit("/", 1)[0]
    market = "usdm" if path.startswith("/usdm") else "spot"
    with ws_connect(base + path) as ws:
        (info,) = ex.wait_for_connections(1)
        assert info.subscriptions == () and ex.stats().handshakes_refused == 0
        ex.publish(market, "btcusdt@bookTicker", {"u": 1})
        reply = request(ws, {"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1})
        assert reply == {
            "result": None,
            "id": 1,
        }  # the first frame is the reply: nothing served before
        ex.wait_for_subscription("btcusdt@bookTicker")
        ex.publish(market, "btcusdt@bookTicker", {"u": 2})
        assert recv_json(ws) == {"u": 2}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/spot/stream?streams=btcusdt@trade/nope", 400),
        ("/spot/other", 404),
        ("/nowhere/ws", 404),
        ("/spot/ws-api/v2", 404),  # only /ws-api/v3 is served
    ],
)
def test_handshake_rejections(ex: LocalExchange, path: str, status: int) -> None:
    base = ex.urls("spot")["ws"].rsplit("/", 1)[0]
    with pytest.raises(InvalidStatus) as err:
        ws_connect(base + path)
    assert err.value.response.status_code == status
    assert ex.stats().handshakes_refused == 1


def test_ws_api_handler_slot(ex: LocalExchange) -> None:
    async def echo(conn: object) -> None:
        async for msg in conn:  # type: ignore[attr-defined]
            await conn.send("echo:" + msg)  # type: ignore[attr-defined]

    ex.register_ws_api("usdm", echo)
    assert ex.urls("usdm")["ws_api"].endswith("/usdm/ws-fapi/v1")
    with ws_connect(ex.urls("usdm")["ws_api"]) as ws:
        ws.send("hi")
        assert ws.recv(timeout=3) == "echo:hi"


@pytest.mark.parametrize(("market", "limit"), [("spot", 5), ("usdm", 10)])
def test_message_rate_limit(ex: LocalExchange, market: str, limit: int) -> None:
    with ws_connect(ex.urls(market)["ws"] + "/ws") as ws:  # type: ignore[arg-type]
        for i in range(limit):  # exactly at the limit: every request answered
            ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        for i in range(limit):
            assert recv_json(ws)["id"] == i
    with ws_connect(ex.urls(market)["ws"] + "/ws") as ws:  # type: ignore[arg-type]
        for i in range(limit + 1):
            ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        with pytest.raises(ConnectionClosed):
            while True:
                recv_json(ws)
    ex.wait_until(lambda s: s.disconnect_reasons.get("rate_limit") == 1, what="rate kill")


def test_ping_frames_count_against_the_limit(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("spot")["ws"] + "/ws") as ws:
        for _ in range(6):
            ws.ping()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=3)
    ex.wait_until(lambda s: s.disconnect_reasons.get("rate_limit") == 1, what="rate kill")


def test_streams_per_connection_limit(make_exchange: Factory) -> None:
    ex = make_exchange(auto_publish=False, max_streams={"spot": 3})
    base = ex.urls("spot")["ws"]
    with pytest.raises(InvalidStatus) as err:
        ws_connect(
            base
            + "/stream?streams="
            + "/".join(f"{s}@trade" for s in ("btcusdt", "ethusdt", "bnbusdt", "solusdt"))
        )
    assert err.value.response.status_code == 400
    with ws_connect(base + "/ws/btcusdt@trade/ethusdt@trade") as ws:
        assert request(ws, {"method": "SUBSCRIBE", "params": ["bnbusdt@trade"], "id": 1}) == {
            "result": None,
            "id": 1,
        }
        reply = request(ws, {"method": "SUBSCRIBE", "params": ["solusdt@trade"], "id": 2})
        assert reply["error"]["code"] == 2 and reply["id"] == 2
        # re-subscribing an existing stream needs no room
        assert request(ws, {"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 3}) == {
            "result": None,
            "id": 3,
        }


def test_usdm_routing(ex: LocalExchange) -> None:
    """Routed paths deliver only their own streams; unrouted behaves like /public."""
    base = ex.urls("usdm")["ws"]
    both = "/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker"
    with (
        ws_connect(base + "/public" + both) as public,
        ws_connect(base + "/market" + both) as market,
        ws_connect(base + both) as unrouted,
    ):
        ex.wait_for_connections(3)
        # Publish the silent stream first; FIFO delivery means a silent stream would
        # arrive before the marker if it were delivered.
        ex.publish("usdm", "btcusdt@aggTrade", {"kind": "agg"})
        ex.publish("usdm", "btcusdt@bookTicker", {"kind": "book"})
        ex.publish("usdm", "btcusdt@aggTrade", {"kind": "agg2"})
        assert recv_json(public)["data"] == {"kind": "book"}
        assert recv_json(unrouted)["data"] == {"kind": "book"}
        assert recv_json(market)["data"] == {"kind": "agg"}
        assert recv_json(market)["data"] == {"kind": "agg2"}
        assert {c.route for c in ex.connections("usdm")} == {"public", "market", None}


def test_coinm_has_no_routes(ex: LocalExchange) -> None:
    with ws_connect(ex.urls("coinm")["ws"] + "/ws/btcusd_perp@aggTrade") as ws:
        ex.wait_for_subscription("btcusd_perp@aggTrade", market="coinm")
        ex.publish("coinm", "btcusd_perp@aggTrade", {"ok": 1})
        assert recv_json(ws) == {"ok": 1}
