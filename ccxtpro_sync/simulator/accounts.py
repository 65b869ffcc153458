"""Simulated accounts: API keys of all three types, spot balances, futures wallets, positions.

The exchange holds only the *verifying* half of each key (``ExchangeKey``), as
Binance does, and checks requests with its own code (:mod:`.signatures`), not
the client's. :meth:`Accounts.create_test_account` additionally generates the private
half and hands it back as :class:`~ccxtpro_sync._credentials.Credentials`, so a
test gets a ready-to-use login in one call.
"""

from __future__ import annotations

import random
import re
import string
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from .._credentials import Credentials
from .catalog import MarketName
from .signatures import ExchangeKey, KeyType

Number = int | float | str | Decimal
#: ``WITHDRAW`` only shows in ``apiRestrictions``; no key has it unless given.
Permission = Literal["TRADE", "USER_DATA", "USER_STREAM", "WITHDRAW"]
ALL_PERMISSIONS: Final[frozenset[str]] = frozenset({"TRADE", "USER_DATA", "USER_STREAM"})
#: Binance keys are 64 alphanumerics; anything outside this is ``-2014`` (format invalid).
API_KEY_FORMAT: Final = re.compile(r"^[A-Za-z0-9]{1,128}$")
FUTURES: Final[tuple[MarketName, ...]] = ("usdm", "coinm")
DEFAULT_LEVERAGE: Final = 20


def dec(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass
class SpotBalance:
    free: Decimal = Decimal(0)
    locked: Decimal = Decimal(0)


@dataclass
class Position:
    """One-way (``BOTH``) cross position. ``amount`` is base quantity (USD-M) or contracts
    (COIN-M), signed; ``realized`` accumulates realized PnL (the events' ``cr``)."""

    amount: Decimal = Decimal(0)
    entry_price: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    leverage: int = DEFAULT_LEVERAGE
    update_time: int = 0


@dataclass
class Account:
    """Balances and positions of one user; orders live in the matching engine."""

    uid: int
    name: str
    spot: dict[str, SpotBalance] = field(default_factory=dict)
    wallets: dict[MarketName, dict[str, Decimal]] = field(
        default_factory=lambda: {m: {} for m in FUTURES}
    )
    positions: dict[MarketName, dict[str, Position]] = field(
        default_factory=lambda: {m: {} for m in FUTURES}
    )
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    can_trade: bool = True
    update_time: int = 0

    def spot_balance(self, asset: str) -> SpotBalance:
        return self.spot.setdefault(asset, SpotBalance())

    def wallet(self, market: MarketName, asset: str) -> Decimal:
        return self.wallets[market].get(asset, Decimal(0))

    def position(self, market: MarketName, symbol: str) -> Position:
        return self.positions[market].setdefault(symbol, Position())


@dataclass
class ApiKey:
    """One API key as the exchange stores it: verify key, owner and permissions."""

    api_key: str
    verify: ExchangeKey
    account: Account
    permissions: frozenset[str] = ALL_PERMISSIONS
    enabled: bool = True

    @property
    def key_type(self) -> KeyType:
        return self.verify.key_type


@dataclass(frozen=True)
class TestAccount:
    """What :meth:`Accounts.create_test_account` returns: the account and a login for it."""

    account: Account
    api_key: str
    credentials: Credentials


class Accounts:
    """Registry of accounts and keys (thread-safe; read by REST threads and the WS loop)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"{seed}:accounts")
        self._lock = threading.Lock()
        self.by_key: dict[str, ApiKey] = {}
        self.by_name: dict[str, Account] = {}
        self._next_uid = 354_000_000 + self._rng.randint(0, 999_999)

    # -- creation --------------------------------------------------------------------------
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
        account: Account | str | None = None,
    ) -> Account:
        """Register ``api_key`` (HMAC ``secret`` or RSA/Ed25519 ``public_key`` PEM).

        ``account`` attaches the key to an existing account (object or name) instead of
        creating one; balances are then added to it.
        """
        if (secret is None) == (public_key is None):
            raise ValueError("give exactly one of secret (HMAC) or public_key (RSA/Ed25519 PEM)")
        verify = (
            ExchangeKey.hmac(secret)
            if secret is not None
            else ExchangeKey.from_public_pem(public_key or b"")
        )
        with self._lock:
            if api_key in self.by_key:
                raise ValueError("API key already registered")
            if isinstance(account, Account):
                owner = account
            elif isinstance(account, str):
                owner = self.by_name[account]
            else:
                owner = Account(self._next_uid, name or f"account{len(self.by_name) + 1}")
                self._next_uid += 1
                if owner.name in self.by_name:
                    raise ValueError(f"account name {owner.name!r} already used")
                self.by_name[owner.name] = owner
            for asset, amount in (balances or {}).items():
                owner.spot_balance(asset).free += dec(amount)
            for market, given in (("usdm", usdm_balances), ("coinm", coinm_balances)):
                wallet = owner.wallets[market]  # type: ignore[index]
                for asset, amount in (given or {}).items():
                    wallet[asset] = wallet.get(asset, Decimal(0)) + dec(amount)
            perms = ALL_PERMISSIONS if permissions is None else frozenset(permissions)
            self.by_key[api_key] = ApiKey(api_key, verify, owner, perms)
            return owner

    def new_api_key(self) -> str:
        with self._lock:
            return "".join(self._rng.choices(string.ascii_letters + string.digits, k=64))

    def create_test_account(
        self,
        key_type: KeyType = "ed25519",
        *,
        balances: Mapping[str, Number] | None = None,
        usdm_balances: Mapping[str, Number] | None = None,
        coinm_balances: Mapping[str, Number] | None = None,
        name: str | None = None,
        permissions: Iterable[Permission] | None = None,
    ) -> TestAccount:
        """A funded account with a fresh key of ``key_type`` and the client's credentials.

        Defaults: spot 10 000 USDT, 1 BTC, 10 ETH, 50 BNB, 100 SOL; USD-M 10 000 USDT;
        COIN-M 1 BTC and 10 ETH.
        """
        api_key = self.new_api_key()
        spot = (
            balances
            if balances is not None
            else {"USDT": 10_000, "BTC": 1, "ETH": 10, "BNB": 50, "SOL": 100}
        )
        usdm = usdm_balances if usdm_balances is not None else {"USDT": 10_000}
        coinm = coinm_balances if coinm_balances is not None else {"BTC": 1, "ETH": 10}
        if key_type == "hmac":
            secret = "".join(self._rng.choices(string.ascii_letters + string.digits, k=64))
            account = self.add_account(
                api_key=api_key,
                secret=secret,
                name=name,
                balances=spot,
                usdm_balances=usdm,
                coinm_balances=coinm,
                permissions=permissions,
            )
            return TestAccount(account, api_key, Credentials(api_key, secret=secret))
        private: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if key_type == "rsa"
            else ed25519.Ed25519PrivateKey.generate()
        )
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        account = self.add_account(
            api_key=api_key,
            public_key=pem,
            name=name,
            balances=spot,
            usdm_balances=usdm,
            coinm_balances=coinm,
            permissions=permissions,
        )
        return TestAccount(account, api_key, Credentials(api_key, private_key=private))

    # -- lookups and switches -------------------------------------------------------------------
    def key(self, api_key: str) -> ApiKey | None:
        found = self.by_key.get(api_key)
        return found if found is not None and found.enabled else None

    def account(self, ref: Account | str) -> Account:
        """An account by object, name or API key."""
        if isinstance(ref, Account):
            return ref
        if ref in self.by_name:
            return self.by_name[ref]
        if ref in self.by_key:
            return self.by_key[ref].account
        raise KeyError(f"unknown account {ref!r}")

    def set_enabled(self, api_key: str, enabled: bool) -> ApiKey:
        with self._lock:
            entry = self.by_key[api_key]
            entry.enabled = enabled
            return entry

    def set_permissions(self, api_key: str, permissions: Iterable[Permission]) -> None:
        with self._lock:
            self.by_key[api_key].permissions = frozenset(permissions)
