"""Per-connection state, shared by the dispatcher and the server (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .accounts import Account
from .auth import Token
from .channels import Channel
from .limits import Credits


@dataclass
class Session:
    """One WebSocket connection (or one HTTP request, with ``http=True``)."""

    id: int
    credits: Credits
    path: str = ""
    http: bool = False
    token: Token | None = None
    account: Account | None = None
    subs: dict[str, Channel] = field(default_factory=dict)
    #: Label added to private notifications (``private/subscribe`` ``label``).
    sub_label: str | None = None
    cod: bool = False
    heartbeat: float | None = None
    test_request_at: float | None = None
    last_inbound: float = 0.0
    closing: bool = False
    half_open: bool = False
    #: Why the server closed it: client, heartbeat, rate_limit, logout, dropped, ...
    close_reason: str = "client"
