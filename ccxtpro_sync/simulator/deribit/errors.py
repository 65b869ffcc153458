"""Deribit error codes and the exception the method handlers raise.

Codes and messages follow the protocol reference §1 (the values CCXT, deribit-base
and live captures agree on, not the docs' own divergent table).
"""

from __future__ import annotations

from typing import Any, Final

AUTHORIZATION_REQUIRED: Final = 10000
ERROR: Final = 10001
QTY_TOO_LOW: Final = 10002
ORDER_NOT_FOUND: Final = 10004
NOT_ENOUGH_FUNDS: Final = 10009
ALREADY_CLOSED: Final = 10010
INVALID_INSTRUMENT: Final = 10020
INVALID_AMOUNT: Final = 10021
INVALID_PRICE: Final = 10023
TOO_MANY_REQUESTS: Final = 10028
MUST_BE_WEBSOCKET: Final = 10030
PRICE_WRONG_TICK: Final = 10043
INVALID_ARGUMENTS: Final = 11029
INVALID_TRIGGER_PRICE: Final = 11036
OTHER_REJECT: Final = 11030
NOT_OPEN_ORDER: Final = 11044
BAD_REQUEST: Final = 11050
POST_ONLY_REJECT: Final = 11054
INVALID_CREDENTIALS: Final = 13004
UNAUTHORIZED: Final = 13009
FORBIDDEN: Final = 13021
COD_NOT_ENABLED: Final = 13042
RAW_NOT_AVAILABLE: Final = 13778
#: An order request that reached the matching engine after its ``valid_until``.
TIMED_OUT: Final = 13888
PARSE_ERROR: Final = -32700
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
MISSING_PARAMS: Final = -32000

MESSAGES: Final[dict[int, str]] = {
    AUTHORIZATION_REQUIRED: "authorization_required",
    ERROR: "error",
    QTY_TOO_LOW: "qty_too_low",
    ORDER_NOT_FOUND: "order_not_found",
    NOT_ENOUGH_FUNDS: "not_enough_funds",
    ALREADY_CLOSED: "already_closed",
    INVALID_INSTRUMENT: "invalid_or_unsupported_instrument",
    INVALID_AMOUNT: "invalid_amount",
    INVALID_PRICE: "invalid_price",
    TOO_MANY_REQUESTS: "too_many_requests",
    MUST_BE_WEBSOCKET: "must_be_websocket_request",
    PRICE_WRONG_TICK: "price_wrong_tick",
    INVALID_ARGUMENTS: "invalid_arguments",
    INVALID_TRIGGER_PRICE: "invalid_trigger_price",
    OTHER_REJECT: "other_reject",
    NOT_OPEN_ORDER: "not_open_order",
    BAD_REQUEST: "bad_request",
    POST_ONLY_REJECT: "post_only_reject",
    INVALID_CREDENTIALS: "invalid_credentials",
    UNAUTHORIZED: "unauthorized",
    FORBIDDEN: "forbidden",
    COD_NOT_ENABLED: "cod_not_enabled",
    RAW_NOT_AVAILABLE: "raw_subscriptions_not_available_for_unauthorized",
    TIMED_OUT: "timed_out",
    PARSE_ERROR: "Parse error",
    METHOD_NOT_FOUND: "Method not found",
    INVALID_PARAMS: "Invalid params",
    MISSING_PARAMS: "Missing params",
}


class RpcError(Exception):
    """A JSON-RPC error reply: ``{"code", "message", "data"}``."""

    def __init__(self, code: int, data: Any = None, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, "error")
        self.data = data
        super().__init__(f"{self.code} {self.message}: {data!r}")

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}


def bad_param(param: str, reason: str) -> RpcError:
    """``-32602 Invalid params`` naming the parameter, as the live API does."""
    return RpcError(INVALID_PARAMS, {"reason": reason, "param": param})
