"""The Binance market-stream protocol, driven with plain bytes (no sockets)."""

import json

import pytest

from ccxtpro_sync._core.events import Policy
from ccxtpro_sync._exceptions import BadRequest, ProtocolError
from ccxtpro_sync._exchanges.binance.stream_protocol import BinanceStreamProtocol

BASE = "ws://127.0.0.1:1/spot"


def frames(items: list[str]) -> list[dict]:
    return [json.loads(f) for f in items]


def test_url_carries_desired_streams_and_they_are_live_on_open():
    protocol = BinanceStreamProtocol(BASE)
    assert protocol.subscribe(["btcusdt@aggTrade", "ethusdt@ticker"]) == ([], [])
    assert protocol.url() == f"{BASE}/stream?streams=btcusdt@aggTrade/ethusdt@ticker"
    opened = protocol.on_open(0.0)
    assert opened.ready and opened.outgoing == []
    assert protocol.book.confirmed() == {"btcusdt@aggTrade", "ethusdt@ticker"}


def test_streams_beyond_the_url_budget_are_restored_by_batched_subscribe():
    protocol = BinanceStreamProtocol(BASE, url_budget=80, streams_per_request=2)
    streams = [f"sym{i}usdt@trade" for i in range(6)]
    protocol.subscribe(streams)
    url = protocol.url()
    assert len(url) <= 80
    in_url = url.split("streams=")[1].split("/")
    opened = protocol.on_open(0.0)
    assert not opened.ready
    sent = frames(opened.outgoing)
    restored = [s for f in sent for s in f["params"]]
    assert sorted(in_url + restored) == sorted(streams)
    assert all(f["method"] == "SUBSCRIBE" and len(f["params"]) <= 2 for f in sent)
    # ready once the server acknowledged every restore request
    for f in sent[:-1]:
        assert not protocol.receive(json.dumps({"result": None, "id": f["id"]}).encode(), 1).ready
    last = protocol.receive(json.dumps({"result": None, "id": sent[-1]["id"]}).encode(), 1)
    assert last.ready
    assert protocol.book.confirmed() == set(streams)


def test_combined_payload_is_routed_by_stream_name():
    protocol = BinanceStreamProtocol(BASE)
    protocol.on_open(0.0)
    payload = {"e": "aggTrade", "s": "BTCUSDT", "p": "1.0"}
    deliveries = protocol.receive(
        json.dumps({"stream": "btcusdt@aggTrade", "data": payload}).encode(), 0.0
    )
    # Nothing but data: a plain list, the connection's fast path.
    assert isinstance(deliveries, list)
    [delivery] = deliveries
    assert delivery.message_hash == "stream:btcusdt@aggTrade"
    assert delivery.value == [payload]
    assert delivery.policy is Policy.APPEND


def test_live_subscribe_and_unsubscribe_requests():
    protocol = BinanceStreamProtocol(BASE)
    protocol.on_open(0.0)
    ids, out = protocol.subscribe(["btcusdt@depth@100ms"])
    [frame] = frames(out)
    assert frame == {"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": ids[0]}
    reply = protocol.receive(json.dumps({"result": None, "id": ids[0]}).encode(), 0.0)
    assert reply.responses[0].request_id == ids[0] and reply.responses[0].error is None
    # a second consumer of the same stream sends nothing
    assert protocol.subscribe(["btcusdt@depth@100ms"]) == ([], [])
    assert protocol.unsubscribe(["btcusdt@depth@100ms"]) == ([], [])
    ids, out = protocol.unsubscribe(["btcusdt@depth@100ms"])
    assert frames(out)[0]["method"] == "UNSUBSCRIBE"


def test_refused_subscription_rejects_its_waiters_with_a_typed_error():
    protocol = BinanceStreamProtocol(BASE)
    protocol.on_open(0.0)
    ids, _ = protocol.subscribe(["nosuch@trade"])
    error_frame = {"error": {"code": 2, "msg": "Invalid request: unknown stream"}, "id": ids[0]}
    inbound = protocol.receive(json.dumps(error_frame).encode(), 0.0)
    assert isinstance(inbound.responses[0].error, BadRequest)
    assert [h for h, _ in inbound.rejections] == ["stream:nosuch@trade"]
    assert not protocol.book.is_desired("nosuch@trade")
    # the flat error shape from Binance's error table is understood too
    ids, _ = protocol.subscribe(["other@trade"])
    flat = protocol.receive(
        json.dumps({"code": 3, "msg": "Invalid JSON", "id": ids[0]}).encode(), 0
    )
    assert flat.responses[0].error is not None


def test_malformed_and_unknown_frames_are_reported_not_raised():
    protocol = BinanceStreamProtocol(BASE)
    protocol.on_open(0.0)
    bad = protocol.receive(b'{"stream": "x", "data": ', 0.0)
    assert isinstance(bad.errors[0], ProtocolError)
    odd = protocol.receive(b'{"hello": 1}', 0.0)
    assert isinstance(odd.errors[0], ProtocolError)
    stray = protocol.receive(b'{"result": null, "id": 999}', 0.0)
    assert isinstance(stray.errors[0], ProtocolError)


def test_server_shutdown_asks_for_a_reconnect():
    protocol = BinanceStreamProtocol(BASE)
    protocol.on_open(0.0)
    raw = protocol.receive(b'{"e":"serverShutdown","E":1770123456789}', 0.0)
    combined = protocol.receive(
        b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}', 0.0
    )
    assert raw.reconnect_reason and combined.reconnect_reason


def test_disconnect_keeps_desire_and_forgets_confirmation():
    protocol = BinanceStreamProtocol(BASE)
    protocol.subscribe(["a@trade"])
    protocol.url()
    protocol.on_open(0.0)
    _ids, _ = protocol.subscribe(["b@trade"])
    protocol.on_close()
    assert protocol.book.confirmed() == set()
    assert protocol.subscribe(["c@trade"]) == ([], [])  # offline: recorded, not sent
    assert protocol.url().endswith("streams=a@trade/b@trade/c@trade")


def test_stream_limit_per_connection_is_enforced_before_sending():
    protocol = BinanceStreamProtocol(BASE, max_streams=2)
    protocol.subscribe(["a@trade", "b@trade"])
    with pytest.raises(BadRequest):
        protocol.subscribe(["c@trade"])
    assert protocol.capacity() == 0


def test_queries_get_their_result():
    protocol = BinanceStreamProtocol(BASE)
    protocol.on_open(0.0)
    request_id, frame = protocol.encode_request("LIST_SUBSCRIPTIONS", None)
    assert json.loads(frame) == {"method": "LIST_SUBSCRIPTIONS", "id": request_id}
    reply = protocol.receive(json.dumps({"result": ["a@trade"], "id": request_id}).encode(), 0)
    assert reply.responses[0].result == ["a@trade"]


def test_stream_released_before_its_subscribe_ack_is_unsubscribed_on_the_ack():
    protocol = BinanceStreamProtocol(BASE)
    protocol.on_open(0.0)
    ids, _ = protocol.subscribe(["btcusdt@trade"])
    assert protocol.unsubscribe(["btcusdt@trade"]) == ([], [])  # not confirmed yet
    ack = protocol.receive(json.dumps({"result": None, "id": ids[0]}).encode(), 0.0)
    [frame] = frames(ack.outgoing)
    assert frame["method"] == "UNSUBSCRIBE" and frame["params"] == ["btcusdt@trade"]
    protocol.receive(json.dumps({"result": None, "id": frame["id"]}).encode(), 0.0)
    assert protocol.book.confirmed() == set()


def test_a_silent_stream_is_resubscribed_with_a_notice_and_its_neighbour_is_not():
    from ccxtpro_sync._core.freshness import Freshness, FreshnessPolicy

    policy = FreshnessPolicy(multiple=5.0, floor=0.5, min_samples=3, interval=0.1)
    protocol = BinanceStreamProtocol(BASE, freshness=Freshness(policy))
    protocol.subscribe(["a@aggTrade", "b@aggTrade", "quiet@aggTrade"])
    protocol.url()
    protocol.on_open(0.0)
    now = 0.0
    for _ in range(20):  # both busy, every 0.1 s
        now += 0.1
        for stream in ("a@aggTrade", "b@aggTrade"):
            protocol.receive(json.dumps({"stream": stream, "data": {"x": 1}}).encode(), now)
        assert protocol.check_freshness(now) is None
    for _ in range(10):  # "a" goes silent, "b" goes on
        now += 0.1
        protocol.receive(b'{"stream":"b@aggTrade","data":{"x":1}}', now)
        found = protocol.check_freshness(now)
        if found is not None:
            break
    assert found is not None and now - 2.0 > 0.5  # past 0.5 s of silence
    sent = frames(found.outgoing)
    assert [(f["method"], f["params"]) for f in sent] == [
        ("UNSUBSCRIBE", ["a@aggTrade"]),
        ("SUBSCRIBE", ["a@aggTrade"]),
    ]
    [(signal, payload)] = found.notices
    assert signal == "stream_stale" and payload["stream"] == "a@aggTrade"
    # the server acknowledges both; the stream stays wanted and confirmed
    for f in sent:
        protocol.receive(json.dumps({"result": None, "id": f["id"]}).encode(), now)
    assert protocol.book.confirmed() == {"a@aggTrade", "b@aggTrade", "quiet@aggTrade"}
    assert protocol.check_freshness(now + 0.2) is None  # paced, and its clock restarted
