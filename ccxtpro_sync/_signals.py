"""Telemetry as blinker signals, in the library's own namespace.

Connect a receiver to any of them; the sender is the client (or the
connection when it runs on its own) and every payload is passed as keyword
arguments. A signal with no receivers costs one attribute check: payloads are
only built when someone listens. Receivers run on library threads with no
library lock held; a receiver that raises is logged and otherwise ignored.

==========================  =================================================================
signal                      keyword payload
==========================  =================================================================
``connection_started``      ``url``, ``name``, ``attempt`` (1 for the first connect)
``connection_closed``       ``url``, ``name``, ``code``, ``reason``, ``will_reconnect``
``reconnect_scheduled``     ``url``, ``name``, ``attempt``, ``delay``, ``error``
``message_received``        ``url``, ``name``, ``size``
``message_hash_resolved``   ``url``, ``name``, ``message_hash``, ``waiters``
``request_resolved``        ``url``, ``name``, ``request_id``, ``result``
``request_rejected``        ``url``, ``name``, ``request_id``, ``error``
``callback_error``          ``message_hash``, ``callback``, ``error``
``message_dropped``         ``message_hash``, ``count``, ``reason``
``order_book_resync``       ``symbol``, ``reason``, ``count``
``stream_stale``            ``name``, ``stream``, ``silent_for``, ``limit``, ``strikes``
``protocol_error``          ``url``, ``name``, ``error``
``trades_backfilled``       ``symbol``, ``timeframe`` (None: trades), ``count``, ``first``,
                            ``last`` (trade ids, or candle open times)
``trades_gap``              ``symbol``, ``timeframe``, ``first``, ``last``: a range that could
                            not be fetched (delivery goes on after it)
==========================  =================================================================

``orders_cancelled_on_disconnect`` (``name``, ``symbols``, ``orders``, ``errors``): spot
``cancelOnDisconnect`` cancelled these orders over REST when the WS API was lost.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import Namespace, Signal

__all__ = ["Signals", "send", "signals"]

_log = logging.getLogger("ccxtpro_sync")
_namespace = Namespace()


class Signals:
    """The library's signals, as attributes (``signals.connection_started.connect(fn)``)."""

    connection_started: Signal = _namespace.signal("connection-started")
    connection_closed: Signal = _namespace.signal("connection-closed")
    reconnect_scheduled: Signal = _namespace.signal("reconnect-scheduled")
    message_received: Signal = _namespace.signal("message-received")
    message_hash_resolved: Signal = _namespace.signal("message-hash-resolved")
    request_resolved: Signal = _namespace.signal("request-resolved")
    request_rejected: Signal = _namespace.signal("request-rejected")
    callback_error: Signal = _namespace.signal("callback-error")
    message_dropped: Signal = _namespace.signal("message-dropped")
    order_book_resync: Signal = _namespace.signal("order-book-resync")
    #: A stream went silent on a live connection and is being resubscribed.
    stream_stale: Signal = _namespace.signal("stream-stale")
    protocol_error: Signal = _namespace.signal("protocol-error")
    trades_backfilled: Signal = _namespace.signal("trades-backfilled")
    trades_gap: Signal = _namespace.signal("trades-gap")
    orders_cancelled_on_disconnect: Signal = _namespace.signal("orders-cancelled-on-disconnect")

    def all(self) -> dict[str, Signal]:
        """Every signal by attribute name."""
        return {k: v for k, v in vars(Signals).items() if isinstance(v, Signal)}


signals = Signals()


def send(signal: Signal, sender: Any, **payload: Any) -> None:
    """Send ``signal`` if anyone listens; a raising receiver is logged, never propagated.

    Call sites on hot paths check ``signal.receivers`` first so that building
    the payload costs nothing when nobody listens.
    """
    if not signal.receivers:
        return
    for receiver in list(signal.receivers_for(sender)):
        try:
            receiver(sender, **payload)
        except (Exception, SystemExit):  # sys.exit() here must not end a library thread
            name = getattr(signal, "name", signal)
            _log.exception("signal receiver %r for %s raised", receiver, name)
