"""Signature payloads, signers and verifiers against Binance's documented vectors."""

# The documented vector uses a full-width symbol on purpose.
# ruff: noqa: RUF001

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from ccxtpro_sync._exceptions import BadRequest, InvalidNonce, InvalidSignature
from ccxtpro_sync._exchanges.binance.signing import (
    VerifyKey,
    check_timestamp,
    ed25519_sign,
    format_value,
    hmac_sha256_hex,
    rest_payload,
    rsa_sign,
    sign,
    urlencode,
    verify_ws_api_request,
    ws_api_payload,
)

DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def doc_params(**overrides):
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01000000",
        "price": "52000.00",
        "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": DOC_API_KEY,
    }
    params.update(overrides)
    return params


def test_ws_api_payload_matches_the_documented_vector():
    payload = ws_api_payload(doc_params())
    assert payload == (
        f"apiKey={DOC_API_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL"
        "&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
    )
    assert (
        hmac_sha256_hex(DOC_SECRET, payload)
        == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )


def test_ws_api_payload_is_not_percent_encoded_unicode_vector():
    params = doc_params(
        price="0.10000000",
        quantity="1.00000000",
        recvWindow=5000,
        side="BUY",
        symbol="１２３４５６",
    )
    payload = ws_api_payload(params)
    assert "symbol=１２３４５６" in payload
    assert (
        hmac_sha256_hex(DOC_SECRET, payload)
        == "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd"
    )


def test_ws_api_payload_excludes_signature_and_sorts():
    params = {"b": "2", "a": 1, "signature": "x", "apiKey": "K"}
    assert ws_api_payload(params) == "a=1&apiKey=K&b=2"


def test_rest_payload_matches_the_documented_vectors():
    query = [
        ("symbol", "LTCBTC"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "1"),
        ("price", "0.1"),
        ("recvWindow", 5000),
        ("timestamp", 1499827319559),
    ]
    payload = rest_payload(query)
    assert payload == (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    assert (
        hmac_sha256_hex(DOC_SECRET, payload)
        == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    # query + body are concatenated with no separator, in the order sent
    mixed = rest_payload(query[:4], query[4:])
    assert "timeInForce=GTCquantity=1" in mixed
    assert (
        hmac_sha256_hex(DOC_SECRET, mixed)
        == "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    )


def test_rest_payload_keeps_order_and_percent_encodes():
    assert urlencode({"symbol": "１２", "b": "a b", "a": "x/y"}) == (
        "symbol=%EF%BC%91%EF%BC%92&b=a%20b&a=x%2Fy"
    )
    assert rest_payload("a=1", "b=2") == "a=1b=2"


def test_format_value():
    assert format_value(True) == "true"
    assert format_value(False) == "false"
    assert format_value(5000) == "5000"
    assert format_value(Decimal("1E-8")) == "0.00000001"
    assert format_value(["A", "B"]) == '["A","B"]'
    assert format_value(6000.346) == "6000.346"
    with pytest.raises(TypeError):
        format_value(object())


def test_hmac_verify_is_case_insensitive_and_rejects_tampering():
    key = VerifyKey.hmac(DOC_SECRET)
    params = doc_params()
    params["signature"] = hmac_sha256_hex(DOC_SECRET, ws_api_payload(params)).upper()
    verify_ws_api_request(params, key)
    params["price"] = "52000.01"
    with pytest.raises(InvalidSignature) as info:
        verify_ws_api_request(params, key)
    assert info.value.code == -1022
    with pytest.raises(InvalidSignature):
        verify_ws_api_request({"apiKey": "K"}, key)


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_asymmetric_round_trip(kind):
    if kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signature = rsa_sign(private, "a=1")
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        signature = ed25519_sign(private, "a=1")
    assert signature == sign(private, "a=1")  # both schemes are deterministic
    key = VerifyKey.from_public_key(private.public_key())
    assert key.key_type == kind
    assert key.verify("a=1", signature)
    assert not key.verify("a=2", signature)
    assert not key.verify("a=1", "not base64!!")
    # base64 is case-sensitive
    assert not key.verify("a=1", signature.swapcase())
    params = {"apiKey": "K", "timestamp": 1, "symbol": "BTCUSDT"}
    params["signature"] = sign(private, ws_api_payload(params))
    verify_ws_api_request(params, key)


def test_verify_key_from_public_pem_and_no_pickle():
    import pickle

    from cryptography.hazmat.primitives import serialization

    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = VerifyKey.from_public_pem(pem)
    assert key.verify("x", ed25519_sign(private, "x"))
    secret_key = VerifyKey.hmac("topsecret")
    assert "topsecret" not in repr(secret_key)
    with pytest.raises(TypeError):
        pickle.dumps(secret_key)


@given(st.dictionaries(st.text(min_size=1).filter(lambda s: s != "signature"), st.text()))
def test_hmac_sign_verify_property(params):
    payload = ws_api_payload(params)
    assert VerifyKey.hmac("s").verify(payload, hmac_sha256_hex("s", payload))


# ------------------------------------------------------------------ timing


def test_timestamp_rule_exactly_as_documented():
    server = 1_000_000
    check_timestamp(server, server)
    check_timestamp(server + 999, server)  # strictly less than server + 1000
    with pytest.raises(InvalidNonce, match="ahead") as info:
        check_timestamp(server + 1000, server)
    assert info.value.code == -1021
    check_timestamp(server - 5000, server)  # default window 5000, inclusive
    with pytest.raises(InvalidNonce, match="recvWindow"):
        check_timestamp(server - 5001, server)
    check_timestamp(server - 60000, server, 60000)
    check_timestamp(server - 100, server, 100)
    with pytest.raises(InvalidNonce):
        check_timestamp(server - 101, server, 100)


def test_timestamp_in_microseconds_and_fractional_windows():
    server = 1_700_000_000_000
    check_timestamp(server * 1000 + 999_000, server)
    with pytest.raises(InvalidNonce):
        check_timestamp((server + 1000) * 1000, server)
    check_timestamp(server * 1000 - 6_000_346, server, 6000.346)
    with pytest.raises(InvalidNonce):
        check_timestamp(server * 1000 - 6_000_347, server, 6000.346)


def test_recv_window_bounds():
    with pytest.raises(BadRequest) as info:
        check_timestamp(1, 1, 60001)
    assert info.value.code == -1131
    with pytest.raises(BadRequest):
        check_timestamp(1, 1, 0)
    with pytest.raises(BadRequest):
        check_timestamp(1, 1, 100.0001)
