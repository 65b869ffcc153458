"""Where each Deribit environment lives (protocol reference §1).

``prod`` and ``test`` are Deribit's (separate accounts and keys); ``local`` is
the embedded local Deribit exchange, whose port is known only at run time, so
its endpoints are built from its base URL with :meth:`DeribitEndpoints.local`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from ..._exceptions import BadRequest
from .credentials import ENVIRONMENTS

__all__ = ["ENVIRONMENTS", "DeribitEndpoints", "endpoints"]


@dataclass(frozen=True, slots=True)
class DeribitEndpoints:
    """The websocket URL (JSON-RPC) and the HTTP base (``<rest>/<method>``)."""

    environment: str
    ws: str
    rest: str

    @classmethod
    def local(cls, base: str) -> DeribitEndpoints:
        """Endpoints of a local exchange at ``http://host:port`` (or ``ws://``)."""
        parts = urlsplit(base)
        if parts.scheme not in ("http", "ws", "https", "wss") or not parts.netloc:
            raise BadRequest(f"not a local exchange URL: {base!r}")
        secure = parts.scheme in ("https", "wss")
        host = parts.netloc
        return cls(
            "local",
            f"{'wss' if secure else 'ws'}://{host}/ws/api/v2",
            f"{'https' if secure else 'http'}://{host}/api/v2",
        )


_TABLE: Final = {
    "prod": DeribitEndpoints(
        "prod", "wss://www.deribit.com/ws/api/v2", "https://www.deribit.com/api/v2"
    ),
    "test": DeribitEndpoints(
        "test", "wss://test.deribit.com/ws/api/v2", "https://test.deribit.com/api/v2"
    ),
}


def endpoints(environment: str) -> DeribitEndpoints:
    """The endpoints of ``prod`` or ``test`` (``local`` needs :meth:`DeribitEndpoints.local`)."""
    found = _TABLE.get(environment)
    if found is None:
        hint = (
            "; build local ones with DeribitEndpoints.local(url)" if environment == "local" else ""
        )
        raise BadRequest(
            f"unknown deribit environment {environment!r}; expected one of "
            f"{', '.join(ENVIRONMENTS)}{hint}"
        )
    return found
