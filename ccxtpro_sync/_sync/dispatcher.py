"""The callback dispatcher: user callbacks run here, never on the reader thread.

The reader hands updates to ``put_many`` and returns at once; the dispatcher
thread takes them from a bounded, per-hash coalescing store (see
``_core.pending``) and calls every callback registered for the hash, with no
library lock held. A raising callback is logged and signalled and the next
one runs.

Behind a slow callback, ``LATEST`` updates coalesce. ``APPEND`` updates (trades,
candles, orders...) follow their stream kind's :class:`Overflow` mode; with
``BLOCK`` (the default) a reader whose entry is full waits for the dispatcher --
on a condition, holding no other library lock, so TCP flow control slows the
server -- for at most ``max_lag`` seconds behind the entry's oldest item, and
only then drops the oldest items, counted and signalled. Under a sustained burst
the reader also yields once per entry at a high-water mark (half of
``max_items``), so the dispatcher runs before the entry is full instead of only
when the interpreter's switch interval happens to let it.
"""

from __future__ import annotations

import logging
import threading
import time
from _thread import get_ident
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

from .._core.events import Deferred, Delivery, Policy
from .._core.pending import Overflow, PendingUpdates
from .._core.router import Handle
from .._exceptions import BadRequest
from .._signals import send, signals
from .doorbell import Doorbell
from .follow import Follower
from .placement import Placement, mark_home, start_thread
from .slice import shorten

_log = logging.getLogger("ccxtpro_sync")

CallbackLookup = Callable[[str], tuple[Handle, ...]]


#: Filters an update as it is queued: the update, a trimmed copy, or None to drop it.
Admit = Callable[[Delivery], Delivery | None]

# Enum members as module constants: on Python 3.11 each ``Policy.LATEST`` is an
# attribute lookup through the enum's metaclass, about 1,000 instructions.
_LATEST = Policy.LATEST
_BLOCK = Overflow.BLOCK

#: ``put_many``'s "no previous list entry": no hash (not even a None one) is this.
_NO_HASH = object()

#: The longest a reader waits for one high-water yield: one hand-over, not a stall.
_YIELD_WAIT = 0.05


def stream_kind(message_hash: str) -> str:
    """The kind of a message hash: ``trades`` for ``trades:BTC/USDT``."""
    return message_hash.partition(":")[0]


def overflow_modes(config: Mapping[str, str | Overflow] | None) -> dict[str, Overflow]:
    """Validate a ``{kind: "block" | "drop_oldest" | "latest"}`` mapping."""
    modes: dict[str, Overflow] = {}
    for kind, mode in (config or {}).items():
        try:
            modes[str(kind)] = mode if isinstance(mode, Overflow) else Overflow(mode)
        except ValueError:
            choices = [m.value for m in Overflow]
            raise BadRequest(
                f"overflow policy for {kind!r} must be one of {choices}, not {mode!r}"
            ) from None
    return modes


class Dispatcher:
    """One daemon thread running callbacks in arrival order of their message hash."""

    def __init__(
        self,
        lookup: CallbackLookup,
        *,
        owner: Any = None,
        name: str = "ccxtpro_sync-dispatcher",
        max_items: int = 10_000,
        overflow: Mapping[str, str | Overflow] | None = None,
        max_lag: float = 5.0,
    ) -> None:
        if not max_lag >= 0 or max_lag == float("inf"):
            raise BadRequest(f"maxLag must be a finite number of seconds >= 0, not {max_lag!r}")
        self._lookup = lookup
        self._owner = owner if owner is not None else self
        self._name = name
        self._pending = PendingUpdates(max_items)
        self._queued = self._pending.queued
        self._high_water = max(1, max_items // 2)
        #: Overflow mode per stream kind; kinds not named here use ``BLOCK``.
        self._modes = overflow_modes(overflow)
        self._mode_of: dict[str, Overflow] = {}
        self._max_lag = float(max_lag)
        self._lock = threading.Lock()  # guards the pending store and the flags below
        self._space = threading.Condition(self._lock)  # readers wait here for the dispatcher
        # A parked dispatcher sleeps on this bell (made with the thread), without a
        # Condition's Python bookkeeping, and is woken with the GIL released (see
        # ``doorbell``): at a steady rate every frame is its own burst, so the park and
        # wake-up are paid per message. Rung only by whoever turns ``_idle`` off (under
        # ``_lock``), so once per park.
        self._bell: Doorbell | None = None
        self._blocked = 0
        self._closed = False
        #: Set by ``release_producers``: the owner is closing, no producer waits.
        self._released = False
        #: The dispatcher has parked, or will once its current update is handled.
        self._idle = False
        self._thread: threading.Thread | None = None
        #: The CPUs the thread runs on (the client's ``threadAffinity``), or None.
        self.placement: Placement | None = None
        #: ``threadAffinity="follow"`` (the default) where it works: the thread wakes on
        #: the CPU of the reader that rings it, and goes back to these CPUs when that
        #: CPU is taken (``follow.py``). None: the scheduler places it.
        self.follow_home: frozenset[int] | None = None
        self._follower: Follower | None = None  # made by the thread itself
        #: The client's ``threadSlice``: the readers and the dispatcher ask for a short
        #: scheduler slice (``slice.shorten``).
        self.short_slice = True
        self._ident: int | None = None  # the dispatcher thread's, once started
        self.delivered = 0
        self.callback_errors = 0
        #: Seconds producers spent waiting for the dispatcher (backpressure and yields).
        self.reader_wait = 0.0
        #: Times a producer waited because an entry was full, and high-water yields.
        self.blocked = 0
        self.yields = 0

    # -- producer side (reader threads) -------------------------------------
    def put_many(
        self,
        deliveries: Iterable[Delivery],
        *,
        wake: bool = True,
        admit: Admit | None = None,
        wanted: Container[str] | None = None,
        stop: threading.Event | None = None,
    ) -> float:
        """Queue updates in order, under one lock for a reader's whole burst.
        ``wake=False`` leaves waking the dispatcher to a later :meth:`wake`.
        ``wanted`` (the hashes with callbacks), when given, skips the others.
        ``admit`` (pure, quick) may drop or trim each update, under the same lock
        as the queueing, so what it lets through is queued in the order it decided.
        ``stop`` (the producer's own closing flag) ends a backpressure wait once set
        (with :meth:`wake_producers`). Returns the seconds spent waiting for the
        dispatcher (backpressure)."""
        dropped: list[tuple[str, int]] | None = None
        waited = 0.0
        signal = False
        lock = self._lock  # acquire/release: cheaper than ``with`` once per burst
        lock.acquire()
        try:
            if self._closed:
                return 0.0
            pending = self._pending
            # The store's live entries, for the two hot cases below (a LATEST value,
            # an item appended to an existing BLOCK list): per message, a method call
            # costs more than the rest of the queueing. Anything else goes through
            # the store's methods, which create entries and keep their clocks.
            entries = pending.entries
            extend = pending.extend
            mode_of = self._mode_of
            latest = _LATEST
            block = _BLOCK
            high = self._high_water
            coalesced = 0
            # Read when first needed (a new APPEND entry, a full one): most bursts
            # only add to entries that exist.
            now = -1.0
            # The hash whose BLOCK list entry an update of this burst extended last, and
            # that list: a burst of one stream's items (trades) skips every lookup after
            # its first. Reset by a wait (the dispatcher may take the entry meanwhile).
            last: object = _NO_HASH
            last_entry: Any = None
            for offered in deliveries:
                message_hash = offered.message_hash
                if message_hash is last and offered.policy is not latest:
                    last_entry += offered.value
                    size = len(last_entry)
                    if size <= high:
                        continue
                    last = _NO_HASH
                    count, held = self._over_high_water(
                        message_hash, size, len(offered.value), stop
                    )
                    waited += held
                    now = -1.0
                    if count:
                        if dropped is None:
                            dropped = []
                        dropped.append((message_hash, count))
                    continue
                if wanted is not None and message_hash not in wanted:
                    continue
                delivery = offered if admit is None else admit(offered)
                if delivery is None:
                    continue
                if delivery.policy is latest:  # coalesces: never waits, needs no clock
                    if message_hash in entries:
                        coalesced += 1
                        # Its list is replaced: look it up again (``is`` first: a
                        # str compared with the sentinel costs a reflected compare).
                        if last is not _NO_HASH and message_hash == last:
                            last = _NO_HASH
                    entries[message_hash] = (delivery.value,)
                    continue
                mode = mode_of.get(message_hash)
                if mode is None:
                    mode = self._modes.get(stream_kind(message_hash), block)
                    mode_of[message_hash] = mode
                if mode is block:  # the common case: no trimming
                    entry = entries.get(message_hash)
                    if type(entry) is list:
                        entry += delivery.value
                        size = len(entry)
                        if size <= high:
                            if admit is None:  # the next update of this hash: no lookups
                                last, last_entry = message_hash, entry
                            continue
                    else:  # a new entry (or one replacing a LATEST value): timed
                        if now < 0.0:
                            now = time.monotonic()
                        size = extend(message_hash, delivery.value, now)
                        if size <= high:
                            continue
                    count, held = self._over_high_water(
                        message_hash, size, len(delivery.value), stop
                    )
                    waited += held
                    last = _NO_HASH
                    now = -1.0  # read again: an entry created after a wait is new
                else:
                    if now < 0.0:
                        now = time.monotonic()
                    count = pending.put(message_hash, delivery.value, delivery.policy, mode, now)
                if count:
                    if dropped is None:
                        dropped = []
                    dropped.append((message_hash, count))
            if coalesced:
                pending.coalesced += coalesced
            if self._thread is None and entries:  # started by the first queued update
                self._start()
            if wake and self._idle and entries:
                self._idle = False
                signal = True
            elif self._follower is not None and self._follower.rung_at:
                # Rung, not awake yet: stuck behind other work on the CPU it follows?
                self._follower.overdue()
            if waited:
                self.reader_wait += waited
        finally:
            lock.release()
        follower = self._follower
        if follower is not None and follower.deferred:  # logged by overdue(), not under it
            follower.flush()
        if signal:  # after the lock, so the woken dispatcher does not find it held
            self._ring()
        if dropped and signals.message_dropped.receivers:
            for message_hash, count in dropped:
                send(
                    signals.message_dropped,
                    self._owner,
                    message_hash=message_hash,
                    count=count,
                    reason="callback queue full",
                )
        return waited

    def _over_high_water(
        self, message_hash: str, size: int, added: int, stop: threading.Event | None
    ) -> tuple[int, float]:
        """An entry of ``BLOCK`` mode grew to ``size`` (``added`` items just now), over
        the high-water mark; called with the lock held. Waits for the dispatcher as
        ``_hold`` decides, then trims the entry to ``max_items`` (unless ``stop`` ended
        the wait); returns how many items that dropped and the seconds waited."""
        waited = 0.0
        # The dispatcher itself (a callback that delivers) must never wait on itself.
        if get_ident() != self._ident:
            if self._thread is None:  # it must run to make room
                self._start()
            waited = self._hold(message_hash, size - added <= self._high_water, stop)
        if stop is not None and stop.is_set() and not self._released:
            # Its connection is closing (a rotation retiring it, say): what it read is
            # kept for the dispatcher, never dropped for the closing; the socket is shut,
            # so that is at most the rest of the chunk it was reading.
            return 0, waited
        return self._pending.trim(message_hash), waited

    def _hold(self, message_hash: str, crossed: bool, stop: threading.Event | None) -> float:
        """Backpressure, called with the lock held: while the entry is over
        ``max_items``, wait for the dispatcher (releasing the lock) until it takes
        the entry or ``max_lag`` has passed since the entry's oldest item; when the
        entry has just crossed the high-water mark, yield once to the dispatcher."""
        pending = self._pending
        full = pending.excess(message_hash) > 0
        if (not full and not crossed) or self._released or (stop is not None and stop.is_set()):
            return 0.0
        started = time.monotonic()
        since = pending.since(message_hash)
        deadline = (started if since is None else since) + self._max_lag
        if full and started >= deadline:
            return 0.0  # already past the bound: the overflow policy applies at once
        self._blocked += 1
        try:
            self._unpark()
            if full:
                self.blocked += 1
                while pending.excess(message_hash) > 0 and not self._released:
                    if stop is not None and stop.is_set():
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._space.wait(remaining)
            else:
                self.yields += 1
                self._space.wait(min(_YIELD_WAIT, max(0.0, deadline - started)))
        finally:
            self._blocked -= 1
        return time.monotonic() - started

    def wake(self) -> None:
        """Let the dispatcher run what deferred puts queued (cheap when nothing waits)."""
        if self._idle and self._queued:
            with self._lock:
                signal = self._idle and bool(self._queued)
                if signal:
                    self._idle = False
            if signal:
                self._ring()

    def _unpark(self) -> None:
        """Wake a parked dispatcher; called with the lock held (so it is not moved:
        no system call under the lock; this is backpressure or closing, not a hand-over)."""
        if self._idle:
            self._idle = False
            assert self._bell is not None
            self._bell.ring()

    def _ring(self) -> None:
        # Only after turning ``_idle`` off, which only a started dispatcher turns on: the
        # thread is alive until it has taken this ring (so its id is its own).
        assert self._bell is not None
        follower = self._follower
        if follower is not None:  # wake it on this reader's CPU
            follower.ring()
        self._bell.ring()

    # -- consumer side ---------------------------------------------------------
    def _start(self) -> None:
        self._bell = Doorbell()
        self._thread = start_thread(self._run, self._name, placement=self.placement)
        self._ident = self._thread.ident

    def _run(self) -> None:
        if self.short_slice:  # a wake-up preempts longer-sliced work (see ``slice``)
            shorten()
        follower: Follower | None = None
        if self.follow_home is not None and self.placement is None:
            mark_home(self.follow_home)  # threads started and forks from here go home
            follower = Follower(threading.get_native_id(), self.follow_home, self._name)
            follower.start()
            # Read by readers only once this thread has parked (under the lock) once.
            self._follower = follower
        pop = self._pending.pop
        queued = self._queued
        lock = self._lock
        bell = self._bell
        assert bell is not None
        lookup = self._lookup
        call = self._call
        acquire, release = lock.acquire, lock.release  # cheaper than ``with`` per update
        while True:
            acquire()
            try:
                if self._closed:
                    # Pending updates are discarded: also those a reader held by
                    # backpressure queued after close() (taking one would park us for
                    # good after it, on a bell nobody rings any more).
                    bell.close()
                    if follower is not None:  # under the lock: no reader moves us now
                        follower.end()
                    return
                item = pop()
                # Nothing queued behind this update: park once it is handled, unless a
                # producer signals meanwhile. One lock round per update, not two.
                park = not queued
                if park:
                    self._idle = True
                if self._blocked:
                    self._space.notify_all()
            finally:
                release()
            if item is not None:
                message_hash, value = item
                if type(value) is Deferred:
                    value = value.resolve()
                if value is not None:
                    for handle in lookup(message_hash):
                        call(handle, value)
            if park:
                if follower is None:
                    bell.wait()  # returns at once if a producer rang already
                else:
                    follower.parked = True
                    bell.wait()
                    follower.woken()

    def _call(self, handle: Handle, value: Any) -> None:
        try:
            handle.callback(value)
            self.delivered += 1
        except (Exception, SystemExit) as error:  # sys.exit() in a callback must not end us
            self.callback_errors += 1
            _log.exception("callback %r for %s raised", handle.callback, handle.message_hash)
            send(
                signals.callback_error,
                self._owner,
                message_hash=handle.message_hash,
                callback=handle.callback,
                error=error,
            )

    # -- lifecycle ---------------------------------------------------------------
    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def on_own_thread(self) -> bool:
        """Whether the caller is this dispatcher's thread (a callback running)."""
        return get_ident() == self._ident

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queued": len(self._pending),
                "coalesced": self._pending.coalesced,
                "dropped": self._pending.dropped,
                "delivered": self.delivered,
                "callback_errors": self.callback_errors,
                "lag": self._pending.lag(time.monotonic()),
                "reader_wait_total": self.reader_wait,
                "reader_blocked": self.blocked,
                "reader_yields": self.yields,
                "follow_moves": self._follower.moves if self._follower else 0,
                "follow_drops": self._follower.drops if self._follower else 0,
            }

    def wake_producers(self) -> None:
        """A producer's ``stop`` was set: let a waiting one see it."""
        with self._lock:
            self._space.notify_all()

    def release_producers(self) -> None:
        """The owner is closing: no producer waits for space from now on (a reader
        waiting on a callback, perhaps the one that closes, must end to be joined);
        the overflow policy applies at once (all is discarded by :meth:`close`)."""
        with self._lock:
            self._released = True
            self._space.notify_all()

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop after the callback now running; pending updates are discarded. Idempotent."""
        with self._lock:
            self._closed = True
            self._released = True
            self._pending.clear()
            self._unpark()
            self._space.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
