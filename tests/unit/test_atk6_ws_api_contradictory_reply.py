"""atk6: a WS API reply that carries both a result and an error says two things about
one request. Taking the error (a rejection: "nothing was placed") was a guess when the
result says the order is on the book; it is a ``ProtocolError`` for that request, an
unknown outcome that an order call resolves by looking the order up."""

from __future__ import annotations

import json

from ccxtpro_sync import ProtocolError
from ccxtpro_sync._exchanges.binance import ws_api_requests as ws_requests

from .test_ws_api_protocol import hmac_creds, spot_protocol  # noqa: F401 - fixture

RESULT = {
    "symbol": "ETHBTC", "orderId": 9, "orderListId": -1, "clientOrderId": "c9",
    "transactTime": 1, "price": "0.10000000", "origQty": "1.00000000",
    "executedQty": "0.00000000", "cummulativeQuoteQty": "0.00000000", "status": "NEW",
    "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
}  # fmt: skip


def test_a_reply_with_a_result_and_an_error_is_a_protocol_error(hmac_creds):  # noqa: F811
    protocol = spot_protocol(hmac_creds)
    protocol.on_open(0)
    request_id, _ = protocol.send(
        ws_requests.create_order(protocol.context, "ETH/BTC", "limit", "buy", 1, 0.1)
    )
    body = {
        "id": request_id,
        "status": 400,
        "result": RESULT,
        "error": {"code": -2010, "msg": "Account has insufficient balance."},
    }
    inbound = protocol.receive(json.dumps(body).encode(), 1.0)
    [response] = inbound.responses
    assert response.request_id == request_id
    assert isinstance(response.error, ProtocolError)
    assert "both" in str(response.error)
