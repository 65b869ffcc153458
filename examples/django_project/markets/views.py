from django.http import HttpRequest, JsonResponse

from ccxtpro_sync import BadRequest, CcxtproSyncError

from .client import market_client, remote_client


def ticker(request: HttpRequest) -> JsonResponse:
    """``GET /ticker/?symbol=BTC/USDT``: the next ticker (the stream stays subscribed)."""
    symbol = request.GET.get("symbol", "BTC/USDT")
    try:
        found = market_client.get().watch_ticker(symbol, timeout=5)
    except BadRequest as error:  # the caller's mistake (BadSymbol: no such market)
        return JsonResponse({"error": type(error).__name__, "message": str(error)}, status=400)
    except CcxtproSyncError as error:  # the exchange or the network failed us
        return JsonResponse({"error": type(error).__name__, "message": str(error)}, status=502)
    return JsonResponse(
        {"symbol": found.symbol, "last": found.last, "bid": found.bid, "ask": found.ask}
    )


def ticker_from_redis(request: HttpRequest) -> JsonResponse:
    """``GET /redis/ticker/?symbol=BTC/USDT``: the next ticker from the Redis fan-out
    (a collector publishes it; this process opens no exchange socket)."""
    symbol = request.GET.get("symbol", "BTC/USDT")
    try:
        found = remote_client.get().watch_ticker(symbol, timeout=5)
    except CcxtproSyncError as error:
        return JsonResponse({"error": type(error).__name__, "message": str(error)}, status=502)
    return JsonResponse(
        {"symbol": found.symbol, "last": found.last, "bid": found.bid, "ask": found.ask}
    )
