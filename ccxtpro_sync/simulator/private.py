"""The local exchange's private side, assembled: accounts, matching, WS API, user data, REST.

:class:`PrivateExchange` wires the parts together and installs them on the
servers through their extension points (``register_ws_api``, REST routes, the
stream-name hook for listenKeys, the engine's step hook). :class:`PrivateMixin`
gives ``LocalExchange`` the test-facing API (``add_account``, ``orders``,
``move_market``, faults, ...), so the exchange class itself only gains one
attribute.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import countdown, leverage_brackets, private_rest
from .account_views import order_view
from .accounts import Account, Accounts, Number, Permission, Position, SpotBalance, TestAccount, dec
from .catalog import MARKETS, MarketName
from .engine import now_ms
from .listen_keys import ListenKeys
from .matching import Matching
from .order_log import OrderRequest, OrderRequestLog
from .private_limits import FUTURES_ORDERS, SPOT_ORDERS, Rule, WsApiLimits
from .signatures import KeyType
from .user_data import UserDataHub
from .ws_api import Session, SessionInfo, WsApiServer, run_in_loop
from .ws_market import install_avg_price

if TYPE_CHECKING:
    from .engine import Engine
    from .observe import Registry
    from .rest import RestServer
    from .server import WsServer

AccountRef = Account | str


@dataclass(frozen=True)
class PrivateOptions:
    """Private-side settings; the defaults are Binance's.

    ``listen_key_validity`` (seconds) compresses the futures listenKey hour for tests.
    ``ws_api_weight`` is the WS API request weight per minute per IP (spot 6000;
    USD-M and COIN-M share 2400). ``ban_after`` rejected (429) requests in a row
    lead to a ``ban_seconds`` IP ban (418 and disconnect).
    """

    listen_key_validity: float = 3600.0
    spot_ws_api_weight: int = 6000
    futures_ws_api_weight: int = 2400
    spot_order_limits: tuple[Rule, ...] = SPOT_ORDERS
    futures_order_limits: tuple[Rule, ...] = FUTURES_ORDERS
    ban_after: int = 3
    ban_seconds: float = 120.0


class PrivateExchange:
    """All private state of one local exchange (see module docstring)."""

    def __init__(
        self,
        engine: Engine,
        rest: RestServer,
        ws: WsServer,
        registry: Registry,
        *,
        seed: int,
        options: PrivateOptions | None = None,
    ) -> None:
        self.options = options or PrivateOptions()
        opts = self.options
        self.engine, self.rest, self.ws, self.registry = engine, rest, ws, registry
        self.catalog = engine.catalog
        self.accounts = Accounts(seed)
        #: Every order request received (tests count them per client order id).
        self.order_log = OrderRequestLog()
        self.listen_keys = ListenKeys(engine, opts.listen_key_validity, seed)
        self.hub = UserDataHub(engine, self.listen_keys)
        self.matching = Matching(engine, self.hub, seed)
        self.hub.matching = self.matching
        self.limits = {
            "spot": WsApiLimits(
                opts.spot_ws_api_weight,
                opts.spot_order_limits,
                ban_after=opts.ban_after,
                ban_seconds=opts.ban_seconds,
            ),
            "futures": WsApiLimits(
                opts.futures_ws_api_weight,
                opts.futures_order_limits,
                ban_after=opts.ban_after,
                ban_seconds=opts.ban_seconds,
            ),
        }
        self.ws_api: dict[MarketName, WsApiServer] = {
            m: WsApiServer(self, m, self.limits["spot" if m == "spot" else "futures"])
            for m in MARKETS
        }
        for market, server in self.ws_api.items():
            ws.register_ws_api(market, server.handle)
        ws.extra_streams = self.listen_keys.stream_key
        private_rest.install(self)
        leverage_brackets.install(self)
        self.countdowns = countdown.install(self)
        install_avg_price(self.rest, self.engine)

    def start(self) -> None:
        """Start the listenKey sweeper on the server loop (after the servers started)."""
        loop = self.ws.loop
        interval = min(1.0, max(0.01, self.options.listen_key_validity / 20))

        def sweep() -> None:
            self.listen_keys.sweep()
            loop.call_later(interval, sweep)

        loop.call_soon_threadsafe(sweep)

    def changed(self) -> None:
        self.registry.changed()

    def in_loop(self, fn: Callable[[], Any]) -> Any:
        def locked() -> Any:
            with self.engine.lock:
                return fn()

        if not self.ws.loop.is_running():
            return locked()
        return run_in_loop(self.ws.loop, locked)


def _copy_positions(positions: Mapping[str, Position]) -> dict[str, Position]:
    return {s: copy.copy(p) for s, p in positions.items() if p.amount}


class PrivateMixin:
    """The private-side API of ``LocalExchange`` (delegates to ``self.private``)."""

    private: PrivateExchange

    # -- accounts ----------------------------------------------------------------------------
    def add_account(
        self,
        *,
        api_key: str,
        secret: str | bytes | None = None,
        public_key: str | bytes | None = None,
        name: str | None = None,
        balances: Mapping[str, Number] | None = None,
        usdm_balances: Mapping[str, Number] | None = None,
        coinm_balances: Mapping[str, Number] | None = None,
        permissions: Iterable[Permission] | None = None,
        account: AccountRef | None = None,
    ) -> Account:
        """Register an API key (HMAC ``secret`` or RSA/Ed25519 ``public_key`` PEM) for a new
        account, or for ``account`` if given. ``balances`` fund spot; ``usdm_balances`` and
        ``coinm_balances`` fund the futures wallets."""
        with self.private.engine.lock:
            return self.private.accounts.add_account(
                api_key=api_key,
                secret=secret,
                public_key=public_key,
                name=name,
                balances=balances,
                usdm_balances=usdm_balances,
                coinm_balances=coinm_balances,
                permissions=permissions,
                account=account,
            )

    def create_test_account(self, key_type: KeyType = "ed25519", **kw: Any) -> TestAccount:
        """A funded account with a fresh key; ``.credentials`` is ready for the client."""
        with self.private.engine.lock:
            return self.private.accounts.create_test_account(key_type, **kw)

    def account(self, ref: AccountRef) -> Account:
        """An account by object, name or API key."""
        return self.private.accounts.account(ref)

    def invalidate_key(self, api_key: str) -> int:
        """Disable ``api_key``: its user-data subscriptions end (``eventStreamTerminated``)
        now, sessions logged on with it are revoked at their next request. Returns the
        number of subscriptions ended."""
        entry = self.private.accounts.set_enabled(api_key, False)
        servers = list(self.private.ws_api.values())
        return int(self.private.in_loop(lambda: sum(s.terminate_key(entry) for s in servers)))

    def enable_key(self, api_key: str) -> None:
        self.private.accounts.set_enabled(api_key, True)

    def set_permissions(self, api_key: str, permissions: Iterable[Permission]) -> None:
        self.private.accounts.set_permissions(api_key, permissions)

    def deposit(
        self, account: AccountRef, asset: str, amount: Number, market: MarketName = "spot"
    ) -> None:
        """Credit (or debit, if negative) a balance and push ``balanceUpdate`` /
        ``ACCOUNT_UPDATE`` (reason ``DEPOSIT``)."""
        core = self.private
        acc = core.accounts.account(account)
        delta = dec(amount)
        with core.engine.lock:
            if market == "spot":
                acc.spot_balance(asset).free += delta
            else:
                acc.wallets[market][asset] = acc.wallet(market, asset) + delta
            core.hub.deposit(acc, market, asset, delta, now_ms())

    # -- observability -----------------------------------------------------------------------
    def orders(
        self, account: AccountRef, market: MarketName = "spot", *, open_only: bool = False
    ) -> list[dict[str, Any]]:
        """Every order of the account on ``market`` (as ``order.status`` shows it)."""
        core = self.private
        acc = core.accounts.account(account)
        with core.engine.lock:
            found = [
                o
                for o in core.matching.orders[market].values()
                if o.account is acc and (o.is_open or not open_only)
            ]
            return [order_view(core.matching, market, o) for o in found]

    def balances(self, account: AccountRef) -> dict[str, SpotBalance]:
        """Spot balances ``{asset: SpotBalance(free, locked)}`` (copies)."""
        acc = self.private.accounts.account(account)
        with self.private.engine.lock:
            return {a: copy.copy(b) for a, b in acc.spot.items()}

    def wallets(self, account: AccountRef, market: MarketName = "usdm") -> dict[str, Decimal]:
        """Futures wallet balances ``{asset: balance}`` (realized PnL and fees included)."""
        acc = self.private.accounts.account(account)
        with self.private.engine.lock:
            return dict(acc.wallets[market])

    def positions(self, account: AccountRef, market: MarketName = "usdm") -> dict[str, Position]:
        """Non-zero futures positions by symbol (copies)."""
        acc = self.private.accounts.account(account)
        with self.private.engine.lock:
            return _copy_positions(acc.positions[market])

    def order_requests(self) -> list[OrderRequest]:
        """Every order-placing or order-changing request received so far, in order."""
        return self.private.order_log.requests()

    def ws_api_sessions(self, market: MarketName | None = None) -> list[SessionInfo]:
        return [
            s.info()
            for m, server in self.private.ws_api.items()
            if market in (None, m)
            for s in list(server.sessions.values())
        ]

    def wait_for_ws_api(
        self, n: int, timeout: float = 5.0, market: MarketName | None = None
    ) -> list[SessionInfo]:
        """Wait until exactly ``n`` WS API connections are open (0: all closed)."""

        def check(_: Any) -> tuple[list[SessionInfo]] | None:
            found = self.ws_api_sessions(market)
            return (found,) if len(found) == n else None

        return self.private.registry.wait(check, timeout, f"{n} WS API connection(s)")[0]

    # -- market and faults -------------------------------------------------------------------
    def move_market(self, market: MarketName, symbol: str, price: Number) -> int:
        """Sweep the true book of ``symbol`` to ``price``, filling account orders on the
        way (published with the next tick). Returns how many account orders traded."""
        with self.private.engine.lock:
            moved = self.private.matching.move_market(market, symbol.upper(), dec(price))
        self.private.engine.wake()
        return moved

    def drop_user_data(self, count: int = 1, account: AccountRef | None = None) -> None:
        """Silently lose the next ``count`` user-data events (of ``account``, or anyone's);
        the state still changes, as when a push is lost in transit."""
        acc = self.private.accounts.account(account) if account is not None else None
        self.private.hub.drop(count, acc)

    def disconnect_ws_api(
        self,
        match: str | AccountRef | Callable[[Session], bool] | None = None,
    ) -> int:
        """Abort matching WS API connections (no close frame): ``None`` = all, a string =
        substring of the path or an account name/key, an ``Account``, or a predicate."""
        core = self.private
        if match is None:
            pred: Callable[[Session], bool] = lambda s: True  # noqa: E731
        elif callable(match) and not isinstance(match, Account):
            pred = match
        else:
            acc: Account | None = None
            if isinstance(match, Account):
                acc = match
            elif match in core.accounts.by_name or match in core.accounts.by_key:
                acc = core.accounts.account(match)
            text = match if isinstance(match, str) else None

            def pred(s: Session) -> bool:
                owners = {sub.account.uid for sub in s.subs.values()}
                if s.key is not None:
                    owners.add(s.key.account.uid)
                return (acc is not None and acc.uid in owners) or (
                    acc is None and text is not None and text in s.path
                )

        servers = list(core.ws_api.values())
        return int(core.in_loop(lambda: sum(srv.disconnect(pred) for srv in servers)))

    def countdowns(self) -> dict[tuple[int, MarketName, str], float]:
        """Armed futures countdown cancel-alls: seconds left by (account uid, market, symbol)."""
        return self.private.countdowns.armed()

    def expire_listen_key(self, listen_key: str) -> bool:
        """Expire a futures listenKey now (``listenKeyExpired`` is pushed)."""
        return self.private.listen_keys.expire(listen_key)


__all__ = ["PrivateExchange", "PrivateMixin", "PrivateOptions"]
