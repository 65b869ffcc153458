"""``DeribitAdapter``: Deribit's JSON-RPC websocket on the adapter seam, sans-I/O.

One instance per connection (tokens are connection-scoped). Streams are
Deribit channel names (``book.BTC-PERPETUAL.100ms``); message hashes are the
unified ones of :func:`channels.message_hash`. The restoration order the seam
runs after every (re)connect maps onto Deribit as:

    set_heartbeat (heartbeat set-up) -> public/auth -> subscribe -> enable COD

Order books: one :class:`DeribitBookSync` per book channel. A broken
``prev_change_id`` chain (or a crossed book) asks the seam to resubscribe that
channel only (``Decoded.resubscribe``); nothing of the book is shown until the
fresh snapshot arrives.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..._core.events import Delivery, Policy
from ..._core.heartbeat import Heartbeat as HeartbeatStrategy
from ..._exceptions import BadSymbol, InvalidArgument, ProtocolError
from ...adapters.base import Decoded, Limits, Reply
from ..binance.book_sync import SyncStatus
from .auth import TokenState, client_credentials_params, client_signature_params, refresh_params
from .book_sync import DeribitBookSync
from .caches import DeribitCaches
from .channels import Channel, message_hash, parse_channel, rejected_channels
from .credentials import DeribitCredentials
from .errors import deribit_error
from .latest import LatestTickers
from .markets import DeribitMarkets
from .pacing import DeribitPacer
from .parsers import (
    parse_balance,
    parse_ohlcv,
    parse_orders,
    parse_quote,
    parse_ticker,
    parse_trades,
    parse_user_changes,
)
from .rpc import ErrorResponse, Heartbeat, Notification, Response, decode_frame
from .user_data import RESTORED_HASH, UserDataLedger, user_deliveries

__all__ = ["COD_SCOPES", "RESYNC_HASH", "DeribitAdapter", "DeribitSettings", "deribit_limits"]

#: ``cancelOnDisconnect`` values: off, or ``private/enable_cancel_on_disconnect``'s scope.
COD_SCOPES: Final = (False, "connection", "account")
#: Where book resync notices go (the client turns them into ``order_book_resync`` signals).
RESYNC_HASH: Final = "deribit:resync"
GrantType = Literal["client_credentials", "client_signature"]
#: Channels per subscribe call (reference §6: batches of at most about 500).
MAX_STREAMS: Final = 500


def deribit_limits(pacer: DeribitPacer | None = None) -> Limits:
    """Streams per connection, and Deribit's credit pools as the pacing (``pacing``);
    a new pacer unless one is given (each client paces its own account)."""
    return Limits(
        max_streams=MAX_STREAMS,
        messages_per_second=3.0,  # unused: the pacer decides
        pacer=pacer if pacer is not None else DeribitPacer(),
    )


@dataclass(frozen=True, slots=True)
class DeribitSettings:
    """What every connection of one client shares."""

    url: str
    markets: Callable[[], DeribitMarkets]
    credentials: DeribitCredentials | None = None
    grant_type: GrantType = "client_credentials"
    heartbeat_interval: float = 30.0
    cancel_on_disconnect: Literal[False, "connection", "account"] = False
    limits: Limits = field(default_factory=deribit_limits)
    #: What user data was already delivered (shared by every connection).
    ledger: UserDataLedger = field(default_factory=UserDataLedger)
    #: The newest ticker/quote per symbol (``watch_tickers`` answers from it).
    latest: LatestTickers = field(default_factory=LatestTickers)
    #: Trades, candles, orders and own trades (``newUpdates``; ``watch_*`` read them).
    caches: DeribitCaches = field(default_factory=DeribitCaches)


def _frame(request_id: int, method: str, params: Mapping[str, Any] | None) -> str:
    # NaN and infinities are not JSON: sent as ``NaN`` the frame is one the server
    # cannot parse, and an order request would wait out its timeout with its outcome
    # in doubt. Refused here, before anything leaves.
    try:
        return json.dumps(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": dict(params or {})},
            separators=(",", ":"),
            allow_nan=False,
        )
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"deribit {method}: params cannot be sent as JSON: {error}") from None


class DeribitAdapter:
    """Deribit's wire protocol for ``AdapterClient`` (see the module docstring)."""

    name = "deribit"
    credential_env: tuple[str, ...] = ("DERIBIT_<ENV>_CLIENT_ID", "DERIBIT_<ENV>_CLIENT_SECRET")

    def __init__(self, settings: DeribitSettings) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.heartbeat: HeartbeatStrategy | str | Mapping[str, Any] | None = {
            "type": "jsonrpc",
            "interval": settings.heartbeat_interval,
        }
        self._token: TokenState | None = None
        self._books: dict[str, DeribitBookSync[Any]] = {}
        #: Cancel-on-disconnect as the exchange last confirmed it on this connection.
        self.cod_enabled = False
        self._cod_request: int | None = None
        #: Logins and token refreshes on this connection, for ``connection_info()``.
        self.auth_count = 0
        self.refresh_count = 0
        self.restore_count = 0

    @property
    def markets(self) -> DeribitMarkets:
        return self.settings.markets()

    # -- names ---------------------------------------------------------------------------
    def url(self) -> str:
        return self.settings.url

    def hashes(self, stream: str) -> list[str]:
        return [message_hash(parse_channel(stream), self.markets)]

    # -- restoration steps ----------------------------------------------------------------
    def authenticate(self, request_id: int) -> str | None:
        self._token = None
        credentials = self.settings.credentials
        if credentials is None:
            return None
        if self.settings.grant_type == "client_signature":
            # The signature is about wall time: the one clock an adapter may read.
            params = client_signature_params(credentials, int(time.time() * 1000))
        else:
            params = client_credentials_params(credentials)
        return _frame(request_id, "public/auth", params)

    def authenticated(self, result: Any, now: float) -> None:
        refreshed = self._token is not None
        self._token = TokenState.from_result(result, now)
        if refreshed:
            self.refresh_count += 1
        else:
            self.auth_count += 1

    def _private(self) -> bool:
        return self.settings.credentials is not None

    def subscribe(self, streams: Sequence[str], request_id: int) -> str:
        method = "private/subscribe" if self._private() else "public/subscribe"
        return _frame(request_id, method, {"channels": list(streams)})

    def unsubscribe(self, streams: Sequence[str], request_id: int) -> str:
        method = "private/unsubscribe" if self._private() else "public/unsubscribe"
        return _frame(request_id, method, {"channels": list(streams)})

    def refused(self, streams: Sequence[str], result: Any) -> list[str]:
        return rejected_channels(list(streams), result)

    def resume(self, request_id: int) -> str | None:
        scope = self.settings.cancel_on_disconnect
        if scope is False or not self._private():
            return None
        self._cod_request = request_id  # its reply (seen in decode) sets cod_enabled
        return _frame(request_id, "private/enable_cancel_on_disconnect", {"scope": scope})

    def request(self, method: str, params: Any, request_id: int) -> str:
        return _frame(request_id, method, params)

    # -- timers --------------------------------------------------------------------------
    def next_deadline(self) -> float:
        token = self._token
        return token.refresh_at if token is not None else math.inf

    def on_timer(self, now: float, request_id: int) -> str | None:
        token = self._token
        if token is None or now < token.refresh_at:
            return None
        token.refresh_at = math.inf  # until the reply sets the next deadline
        return _frame(request_id, "public/auth", refresh_params(token))

    def on_disconnect(self) -> list[Delivery]:
        self._token = None
        self._books.clear()  # the next subscription's snapshot restarts every book
        self.cod_enabled = False
        self._cod_request = None
        return []

    # -- frames in -----------------------------------------------------------------------
    def decode(self, data: bytes, now: float) -> Decoded:
        try:
            frame = decode_frame(data)
        except ProtocolError as exc:
            return Decoded(errors=[exc])
        if isinstance(frame, Notification):
            try:
                return self._notification(frame)
            except (ProtocolError, InvalidArgument) as exc:
                return Decoded(errors=[exc])
        if isinstance(frame, Response):
            if frame.id == self._cod_request:
                self.cod_enabled = frame.result == "ok"
            if isinstance(frame.id, int):
                return Decoded(replies=[Reply(frame.id, frame.result)])
            return Decoded()
        if isinstance(frame, ErrorResponse):
            error = deribit_error(frame.code, frame.message, frame.data)
            if isinstance(frame.id, int):
                return Decoded(replies=[Reply(frame.id, error=error)])
            return Decoded(errors=[error])
        assert isinstance(frame, Heartbeat)
        return Decoded()  # the seam's JsonRpcHeartbeat answers test_requests

    def _notification(self, frame: Notification) -> Decoded:
        channel = parse_channel(frame.channel)
        markets = self.markets
        key = message_hash(channel, markets)
        stream = channel.stream
        if stream == "orderbook":
            return self._book(frame.channel, channel, key, frame.data)
        if stream in ("orders", "myTrades", "balance", "positions"):
            try:
                return Decoded(deliveries=self._user(stream, frame.data))
            except BadSymbol as error:
                # An instrument listed after the markets were loaded: the event cannot be
                # read here (the reader sends no request), so the reconcile runs; it loads
                # the instrument (bounded) and delivers what this event carried.
                wake = Delivery(RESTORED_HASH, self.restore_count, Policy.LATEST)
                return Decoded(deliveries=[wake], errors=[error])
        if channel.instrument is None:
            return Decoded()
        market = markets.by_id(channel.instrument)
        number = markets.number
        if stream in ("ticker", "bidask"):
            parse = parse_ticker if stream == "ticker" else parse_quote
            ticker = parse(frame.data, market, number)
            self.settings.latest.put(key, ticker)  # before delivery: a woken watcher finds it
            return Decoded(deliveries=[Delivery(key, ticker, Policy.LATEST)])
        # Cached before delivery, as the tickers are: a woken watcher reads the cache.
        if stream == "trades":
            trades = parse_trades(frame.data, markets, number)
            if not trades:
                return Decoded()  # nothing to tell, and a watcher woken by it would read nothing
            self.settings.caches.add_trades(market.symbol, trades)
            return Decoded(deliveries=[Delivery(key, trades, Policy.APPEND)])
        if stream == "ohlcv":
            candle = parse_ohlcv(frame.data, number)
            assert channel.timeframe is not None
            self.settings.caches.add_candle(market.symbol, channel.timeframe, candle)
            return Decoded(deliveries=[Delivery(key, [candle], Policy.APPEND)])
        return Decoded()

    def _user(self, stream: str, data: Any) -> list[Delivery]:
        markets, ledger, caches = self.markets, self.settings.ledger, self.settings.caches
        if stream == "orders":
            orders = ledger.new_orders(parse_orders(data, markets))
            caches.add_user("orders", orders)
            return user_deliveries("orders", orders)
        if stream == "myTrades":
            trades = ledger.new_trades(parse_trades(data, markets))
            caches.add_user("myTrades", trades)
            return user_deliveries("myTrades", trades)
        if stream == "balance":
            balances = parse_balance(data, markets.number)
            if not ledger.new_balance(balances):
                return []
            return [Delivery("balance", balances, Policy.LATEST)]
        positions = parse_user_changes(data, markets)[2]
        changed = ledger.new_positions(positions)
        caches.add_user("positions", changed)
        return user_deliveries("positions", changed)

    def restored(self) -> list[Delivery]:
        """The seam's optional hook: after every restoration of a logged-in connection,
        tell the client to reconcile what the gap may have missed."""
        if not self._private():
            return []
        self.restore_count += 1
        return [Delivery(RESTORED_HASH, self.restore_count, Policy.LATEST)]

    def _book(self, name: str, channel: Channel, key: str, data: Any) -> Decoded:
        sync = self._books.get(name)
        if sync is None:
            assert channel.instrument is not None
            symbol = self.markets.by_id(channel.instrument).symbol
            sync = self._books[name] = DeribitBookSync(symbol, number=self.markets.number_type)
        result = sync.on_message(data)
        if result.status is SyncStatus.UPDATED and result.book is not None:
            return Decoded(deliveries=[Delivery(key, result.book, Policy.LATEST)])
        decoded = Decoded(resubscribe=[name] if result.needs_snapshot else [])
        if result.status is SyncStatus.RESYNC:
            reason = result.reason.value if result.reason is not None else "resync"
            notice = {
                "symbol": sync.symbol,
                "reason": f"{reason}: {result.detail}" if result.detail else reason,
                "count": sync.stats.resyncs,
            }
            decoded.deliveries.append(Delivery(RESYNC_HASH, [notice], Policy.APPEND))
        return decoded

    # -- introspection -------------------------------------------------------------------
    def book_stats(self) -> dict[str, Any]:
        """Resyncs and applied changes per book channel on this connection."""
        return {
            name: {"resyncs": s.stats.resyncs, "applied": s.stats.applied, "nonce": s.nonce}
            for name, s in self._books.items()
        }

    def info(self) -> dict[str, Any]:
        """This connection's Deribit state, for ``connection_info()``."""
        token = self._token
        return {
            "authenticated": token is not None,
            "auth_count": self.auth_count,
            "refresh_count": self.refresh_count,
            "token_refresh_at": token.refresh_at if token is not None else None,
            "cancel_on_disconnect": self.settings.cancel_on_disconnect,
            "cancel_on_disconnect_enabled": self.cod_enabled,
            "heartbeat_interval": self.settings.heartbeat_interval,
        }
