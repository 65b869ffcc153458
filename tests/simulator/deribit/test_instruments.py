"""``public/get_instruments`` and ``public/get_currencies`` (reference §5)."""

from __future__ import annotations

from collections.abc import Callable

from .conftest import Rpc, fixture


def test_btc_futures_match_the_documented_shape(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    got = client.result("public/get_instruments", {"currency": "BTC", "kind": "future"})
    documented = fixture("get_instruments_result.json")["result"][0]
    perp = next(i for i in got if i["instrument_name"] == "BTC-PERPETUAL")
    assert set(documented) <= set(perp)
    for key in ("tick_size", "settlement_period", "instrument_type", "contract_size",
                "min_trade_amount", "expiration_timestamp", "quote_currency", "counter_currency",
                "settlement_currency", "kind", "price_index"):  # fmt: skip
        assert perp[key] == documented[key], key
    dated = [i for i in got if i["settlement_period"] != "perpetual"]
    assert dated and all(i["expiration_timestamp"] < 32503708800000 for i in dated)
    # day without a leading zero, e.g. BTC-4DEC26
    assert all(not i["instrument_name"].split("-")[1].startswith("0") for i in dated)
    assert all(i["is_active"] and i["state"] == "open" for i in got)


def test_expired_only_when_asked(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    live = client.result("public/get_instruments", {"currency": "ETH", "kind": "future"})
    expired = client.result(
        "public/get_instruments", {"currency": "ETH", "kind": "future", "expired": True}
    )
    assert expired and not {i["instrument_name"] for i in expired} & {
        i["instrument_name"] for i in live
    }
    assert all(not i["is_active"] for i in expired)
    name = expired[0]["instrument_name"]
    assert client.error("public/ticker", {"instrument_name": name})["code"] == 10020


def test_options_tick_steps_and_linear_usdc(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    options = client.result("public/get_instruments", {"currency": "BTC", "kind": "option"})
    assert options and all(o["tick_size_steps"] == [{"above_price": 0.005, "tick_size": 0.0005}]
                           for o in options)  # fmt: skip
    assert {o["option_type"] for o in options} == {"call", "put"}
    assert all(o["quote_currency"] == "BTC" and o["counter_currency"] == "USD" for o in options)
    usdc = client.result("public/get_instruments", {"currency": "USDC"})
    perp = next(i for i in usdc if i["instrument_name"] == "BTC_USDC-PERPETUAL")
    assert perp["instrument_type"] == "linear" and perp["settlement_currency"] == "USDC"
    assert perp["contract_size"] == perp["min_trade_amount"] == 0.001
    assert any(i["kind"] == "option" for i in usdc)


def test_missing_currency_reads_as_any_and_bad_kind_is_rejected(rpc: Callable[[], Rpc]) -> None:
    client = rpc()
    everything = client.result("public/get_instruments")
    assert {i["settlement_currency"] for i in everything} == {"BTC", "ETH", "USDC"}
    assert client.error("public/get_instruments", {"currency": "BTC", "kind": "nope"})["data"] == {
        "reason": "invalid value",
        "param": "kind",
    }


def test_currencies(rpc: Callable[[], Rpc]) -> None:
    found = rpc().result("public/get_currencies")
    assert [c["currency"] for c in found] == ["BTC", "ETH", "USDC"]
    for c in found:
        assert {"currency_long", "coin_type", "decimals", "min_confirmations", "withdrawal_fee",
                "min_withdrawal_fee", "withdrawal_priorities", "network_currency",
                "network_fee"} <= set(c)  # fmt: skip
