"""Read-only mapping behaviour shared by every exchange's markets table.

Each exchange's table indexes its markets by unified symbol in ``_by_symbol``
and resolves names in ``market()`` its own way; the rest of the mapping
surface (``get``, ``in``, iteration, ``symbols``, ``values``) is the same.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._exceptions import BadSymbol
from ._structures import Market


class MarketTable:
    """Mixin: the mapping surface of a markets table keyed by unified symbol."""

    __slots__ = ()

    _by_symbol: dict[str, Market]

    def market(self, symbol: str) -> Market:
        """The market for ``symbol``; raises ``BadSymbol`` if there is none."""
        raise NotImplementedError

    def get(self, symbol: str) -> Market | None:
        """Like :meth:`market`, but ``None`` instead of ``BadSymbol``."""
        try:
            return self.market(symbol)
        except BadSymbol:
            return None

    def __contains__(self, symbol: object) -> bool:
        return isinstance(symbol, str) and self.get(symbol) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_symbol)

    def __len__(self) -> int:
        return len(self._by_symbol)

    @property
    def symbols(self) -> list[str]:
        """Unified symbols, sorted."""
        return sorted(self._by_symbol)

    def values(self) -> list[Market]:
        """All markets."""
        return list(self._by_symbol.values())
