"""The exchange's own signature checks, against Binance's documented vectors (reference §6.2).

The same vectors are checked on the client side in ``tests/unit/test_signing.py``; here
they go through the simulator's verification only, with signatures made by plain
``hmac`` / ``cryptography`` calls, so neither side can lean on the other.
"""

# The documented vector uses a full-width symbol on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from ccxtpro_sync._exchanges.binance import signing as client_signing
from ccxtpro_sync.simulator.accounts import Accounts
from ccxtpro_sync.simulator.auth import rest_payload, verify_ws
from ccxtpro_sync.simulator.engine import now_ms
from ccxtpro_sync.simulator.rest import ApiError
from ccxtpro_sync.simulator.signatures import (
    ExchangeKey,
    TimingError,
    check_request_time,
    ws_api_signature_ok,
    ws_api_signed_text,
)

DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def doc_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
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


def test_ws_api_documented_hmac_vectors() -> None:
    key = ExchangeKey.hmac(DOC_SECRET)
    params = doc_params(
        signature="aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"
    )
    assert ws_api_signed_text(params) == (
        f"apiKey={DOC_API_KEY}&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL"
        "&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT"
    )
    assert ws_api_signature_ok(params, key)
    params["signature"] = params["signature"].upper()  # hex is case-insensitive
    assert ws_api_signature_ok(params, key)
    unicode_params = doc_params(
        price="0.10000000",
        quantity="1.00000000",
        recvWindow=5000,
        side="BUY",
        symbol="１２３４５６",
        signature="b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd",
    )
    assert "symbol=１２３４５６" in ws_api_signed_text(unicode_params)  # not percent-encoded
    assert ws_api_signature_ok(unicode_params, key)
    tampered = {**unicode_params, "quantity": "2.00000000"}
    assert not ws_api_signature_ok(tampered, key)
    assert not ws_api_signature_ok({**params, "signature": 5}, key)


def test_rest_documented_hmac_vector_over_query_and_body_as_sent() -> None:
    key = ExchangeKey.hmac(DOC_SECRET)
    signed = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    sig = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    payload, signature = rest_payload(f"{signed}&signature={sig}", b"")
    assert (payload, signature) == (signed, sig)
    assert key.verify(payload, signature)
    # all in the body: the same payload
    assert rest_payload("", f"{signed}&signature={sig}".encode()) == (signed, sig)
    # split between query and body: concatenated with no separator, in the order sent
    query, body = signed.split("&quantity=")
    payload, _ = rest_payload(query, f"quantity={body}&signature=x".encode())
    assert payload == query + "quantity=" + body
    assert not key.verify(
        payload, sig
    )  # a different payload, so the documented hash no longer fits


def test_rsa_and_ed25519_base64_signatures() -> None:
    text = ws_api_signed_text(doc_params())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    cases = [
        (
            rsa_key,
            base64.b64encode(rsa_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())),
        ),
        (ed_key, base64.b64encode(ed_key.sign(text.encode()))),
    ]
    for private, raw_sig in cases:
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key = ExchangeKey.from_public_pem(pem)
        sig = raw_sig.decode()
        assert ws_api_signature_ok(doc_params(signature=sig), key)
        assert not ws_api_signature_ok(doc_params(signature=sig.swapcase()), key)  # case-sensitive
        assert not ws_api_signature_ok(doc_params(signature="not base64!!"), key)
        assert not ws_api_signature_ok(doc_params(side="BUY", signature=sig), key)


def test_timing_rule() -> None:
    check_request_time(10_000, 10_000, None)
    check_request_time(10_999, 10_000, None)  # less than 1000 ms ahead
    check_request_time(5_000, 10_000, None)  # exactly the default window
    with pytest.raises(TimingError) as ahead:
        check_request_time(11_000, 10_000, None)
    with pytest.raises(TimingError) as stale:
        check_request_time(4_999, 10_000, None)
    with pytest.raises(TimingError) as window:
        check_request_time(10_000, 10_000, 60_001)
    assert (ahead.value.code, stale.value.code, window.value.code) == (-1021, -1021, -1131)
    check_request_time(1_700_000_000_000_000, 1_700_000_000_000, None)  # microseconds


def _client_payload_with_a_bug(params: Any) -> str:
    """The client's builder with a plausible bug: params in insertion order, not sorted."""
    return "&".join(
        f"{k}={client_signing.format_value(v)}" for k, v in params.items() if k != "signature"
    )


def test_a_client_signing_bug_is_not_mirrored_by_the_exchange(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before the exchange had its own checks, it verified with the client's module, so a
    payload bug there was signed and verified alike and the request passed."""
    accounts = Accounts(seed=1)
    login = accounts.create_test_account("hmac")
    monkeypatch.setattr(client_signing, "ws_api_payload", _client_payload_with_a_bug)
    params = doc_params(apiKey=login.api_key, timestamp=now_ms(), recvWindow=5000)
    params["signature"] = login.credentials.sign(client_signing.ws_api_payload(params))
    with pytest.raises(ApiError) as err:
        verify_ws(params, accounts, now_ms())
    assert err.value.code == -1022
    # signed by the documented rule (sorted names), the same request passes
    del params["signature"]
    text = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = login.credentials.sign(text)
    assert verify_ws(params, accounts, now_ms()) is accounts.key(login.api_key)
