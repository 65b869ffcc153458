"""Log every library signal to a stdlib logger, one structured record per event.

    from ccxtpro_sync.contrib.logging import log_signals

    handle = log_signals()              # logger "ccxtpro_sync.signals", per-signal levels
    ...
    handle.disconnect()                 # or: with log_signals(): ...

Each record's message is ``signal key=value ...`` (logfmt) and the record
carries ``signal`` (name), ``sender`` (repr of the client) and ``payload``
(the keyword payload, untouched) for JSON formatters. No extra dependency.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from blinker import ANY

from .._signals import signals

__all__ = ["DEFAULT_LEVELS", "SignalLogger", "log_signals"]

#: Levels used when ``level`` is not given. Per-frame signals are DEBUG.
DEFAULT_LEVELS: dict[str, int] = {
    "connection_started": logging.INFO,
    "connection_closed": logging.INFO,
    "reconnect_scheduled": logging.WARNING,
    "message_received": logging.DEBUG,
    "message_hash_resolved": logging.DEBUG,
    "request_resolved": logging.DEBUG,
    "request_rejected": logging.WARNING,
    "callback_error": logging.ERROR,
    "message_dropped": logging.WARNING,
    "order_book_resync": logging.INFO,
    "protocol_error": logging.WARNING,
    "orders_cancelled_on_disconnect": logging.WARNING,
}


def _value(value: Any) -> str:
    if isinstance(value, BaseException):
        text = f"{type(value).__name__}: {value}"
    elif callable(value):
        text = getattr(value, "__qualname__", None) or repr(value)
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value)
    if not text or any(c in text for c in ' "='):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def format_event(name: str, payload: dict[str, Any]) -> str:
    """``name key=value ...``, values quoted when they contain spaces, quotes or ``=``."""
    return " ".join([name, *(f"{k}={_value(v)}" for k, v in payload.items())])


class SignalLogger:
    """Receivers that log signals; ``disconnect()`` (or leaving ``with``) removes them."""

    def __init__(
        self,
        logger: logging.Logger,
        levels: dict[str, int],
        sender: Any = ANY,
    ) -> None:
        self.logger = logger
        self.levels = levels
        self._sender = sender
        self._receivers: dict[str, Callable[..., None]] = {}

    def connect(self) -> SignalLogger:
        """Connect one receiver per signal (idempotent)."""
        every = signals.all()
        for name, level in self.levels.items():
            if name in self._receivers:
                continue
            receiver = self._receiver(name, level)
            every[name].connect(receiver, sender=self._sender, weak=False)
            self._receivers[name] = receiver
        return self

    def disconnect(self) -> None:
        """Disconnect every receiver (idempotent)."""
        every = signals.all()
        for name, receiver in self._receivers.items():
            # From every sender: blinker keeps a sender-specific receiver listed in
            # ``signal.receivers`` otherwise, which would turn off the no-receiver fast path.
            every[name].disconnect(receiver)
        self._receivers.clear()

    @property
    def connected(self) -> bool:
        return bool(self._receivers)

    def _receiver(self, name: str, level: int) -> Callable[..., None]:
        logger = self.logger

        def receive(sender: Any, **payload: Any) -> None:
            if logger.isEnabledFor(level):
                logger.log(
                    level,
                    "%s",
                    format_event(name, payload),
                    extra={"signal": name, "sender": repr(sender), "payload": payload},
                )

        receive.__qualname__ = f"log_signals.{name}"
        return receive

    def __enter__(self) -> SignalLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()


def log_signals(
    logger: logging.Logger | str | None = None,
    level: int | dict[str, int] | None = None,
    *,
    names: Iterable[str] | None = None,
    sender: Any = ANY,
) -> SignalLogger:
    """Log signals to ``logger`` (default ``ccxtpro_sync.signals``); returns the handle.

    ``level`` is one level for all, a ``{signal: level}`` mapping over
    :data:`DEFAULT_LEVELS`, or None for the defaults. ``names`` limits the
    signals (default: all; note that a receiver on ``message_received`` or
    ``message_hash_resolved`` runs once per frame). ``sender`` limits to one client.
    """
    if logger is None or isinstance(logger, str):
        logger = logging.getLogger(logger or "ccxtpro_sync.signals")
    known = signals.all()
    wanted = list(known) if names is None else list(names)
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise ValueError(f"unknown signals {unknown}; expected some of {sorted(known)}")
    if isinstance(level, int):
        levels = dict.fromkeys(wanted, level)
    else:
        overrides = level or {}
        levels = {n: overrides.get(n, DEFAULT_LEVELS.get(n, logging.INFO)) for n in wanted}
    return SignalLogger(logger, levels, sender).connect()
