"""Fan-out telemetry as blinker signals (sent with no library lock held).

=======================  ===============================================================
signal                   keyword payload
=======================  ===============================================================
``fanout_dropped``       ``key``, ``count``, ``reason`` (collector: entries not published)
``fanout_gap``           ``key``, ``after``, ``before``, ``reason`` (consumer: entries missing)
``fanout_book_resync``   ``symbol``, ``key``, ``nonce`` (consumer: a book restarted from a snapshot)
``fanout_lease``         ``key``, ``owner``, ``active`` (collector: took or lost its shard)
``fanout_redis_error``   ``error`` (collector or consumer: Redis unreachable; retrying)
=======================  ===============================================================
"""

from __future__ import annotations

from blinker import Namespace, Signal

__all__ = ["FanoutSignals", "fanout_signals"]

_namespace = Namespace()


class FanoutSignals:
    """The fan-out's signals, as attributes (``fanout_signals.fanout_gap.connect(fn)``)."""

    fanout_dropped: Signal = _namespace.signal("fanout-dropped")
    fanout_gap: Signal = _namespace.signal("fanout-gap")
    fanout_book_resync: Signal = _namespace.signal("fanout-book-resync")
    fanout_lease: Signal = _namespace.signal("fanout-lease")
    fanout_redis_error: Signal = _namespace.signal("fanout-redis-error")


fanout_signals = FanoutSignals()
