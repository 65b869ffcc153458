"""Per-stream freshness: which subscriptions went quiet while their connection lives.

Sans-I/O: the caller passes the clock. A connection whose other streams keep it
busy never hits its read timeout, so a subscription the server dropped silently
(a lost ``SUBSCRIBE`` ack, a server bug) would stay dead for ever; this tracker
names it so the connection can resubscribe it.

A stream is stale when it has been silent for more than ``multiple`` times its
expected interval between updates, and never less than ``floor`` seconds:

* streams with a declared cadence (candles, 24-hour tickers, mark price) are
  expected at that cadence whatever the market does;
* event-driven streams (trades, book diffs, best bid/ask, liquidations) are
  expected at the interval the stream itself has shown lately (an exponentially
  weighted mean of its gaps), and are not judged at all before ``min_samples``
  updates: a quiet market has long gaps, hence a long limit, and a market that
  never traded gives no reason to suspect its stream.

Each resubscription that brings nothing back doubles the limit (up to ``2**max_strikes``),
so a market that has simply gone quiet costs a few resubscriptions at widening
intervals, not churn; an update resets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: Declared cadence of a stream (seconds between updates), or None if event-driven.
Cadence = Callable[[str], float | None]


def no_cadence(stream: str) -> float | None:
    return None


@dataclass(frozen=True)
class FreshnessPolicy:
    """The knobs of :class:`Freshness` (see the module docstring)."""

    multiple: float = 10.0
    floor: float = 30.0
    min_samples: int = 5
    #: Weight of the newest gap in the mean interval of event-driven streams.
    smoothing: float = 0.1
    max_strikes: int = 6
    #: How often the connection asks (seconds): finer would only cost CPU.
    interval: float = 1.0

    def __post_init__(self) -> None:
        for name in ("multiple", "floor", "interval"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < float("inf")):
                raise ValueError(f"freshness {name} must be a positive number, not {value!r}")
        if not 0 < self.smoothing <= 1:
            raise ValueError("freshness smoothing must be in (0, 1]")
        if self.min_samples < 1 or self.max_strikes < 0:
            raise ValueError("freshness min_samples must be >= 1 and max_strikes >= 0")


class _Track:
    """One stream's clock once it has been heard. ``seen`` only bumps ``last`` and
    ``count`` (the hot path); the mean gap is folded in at check time, over the
    updates since the last fold."""

    __slots__ = ("count", "folded", "folded_at", "last", "mean", "samples", "strikes")

    def __init__(self, now: float) -> None:
        self.last = now
        self.count = 0
        self.folded = 0
        self.folded_at = now
        self.mean = 0.0
        self.samples = 0
        self.strikes = 0


def _heard(since: float | None, now: float) -> _Track:
    """The track of a stream's first update: silent since ``since`` (None: untracked)."""
    if since is None:
        return _Track(now)
    track = _Track(since)
    track.last = now
    track.count = 1
    return track


@dataclass(frozen=True)
class Stale:
    """A stream found silent: for how long, and the limit it passed."""

    stream: str
    silent_for: float
    limit: float
    strikes: int


class Freshness:
    """Tracks the last update of each stream; not thread-safe (the protocol lock guards it).

    A stream confirmed but not heard yet is tracked by the time its silence started,
    a float that every stream started by the same check shares, so an idle
    subscription costs one table entry; it gets a ``_Track`` with its first update."""

    def __init__(self, policy: FreshnessPolicy | None = None, cadence: Cadence = no_cadence):
        self.policy = policy or FreshnessPolicy()
        self._cadence = cadence
        self._tracks: dict[str, _Track | float] = {}
        self._next_check = 0.0

    def seen(self, stream: str, now: float, count: int = 1) -> None:
        """``count`` updates of ``stream`` arrived at ``now`` (the hot path: two
        attribute writes); the same as ``count`` calls with one update each."""
        track = self._tracks.get(stream)
        try:
            track.last = now  # type: ignore[union-attr]
        except AttributeError:  # not tracked (None) or silent since a start time (float)
            track = self._tracks[stream] = _heard(track, now)  # type: ignore[arg-type]
            count -= 1  # _heard counted the first
        track.count += count  # type: ignore[union-attr]

    def _fold(self, track: _Track) -> None:
        """Fold the updates since the last fold into the mean gap."""
        new = track.count - track.folded
        if new <= 0:
            return
        track.folded = track.count
        if track.strikes:  # back after a resubscription: that silence was no market gap
            track.strikes = 0
            track.folded_at = track.last
            return
        gap = (track.last - track.folded_at) / new
        track.folded_at = track.last
        if track.samples:
            weight = 1.0 - (1.0 - self.policy.smoothing) ** new
            track.mean += weight * (gap - track.mean)
        else:
            track.mean = gap
        track.samples += new

    def limit(self, stream: str) -> float | None:
        """Seconds of silence after which ``stream`` is stale (None: not judged yet)."""
        track = self._tracks.get(stream)
        if track is None:
            return None
        policy = self.policy
        expected = self._cadence(stream)
        if not isinstance(track, _Track):  # never heard, no strike: no samples either
            return None if expected is None else max(policy.floor, policy.multiple * expected)
        self._fold(track)
        if expected is None:
            if track.samples < policy.min_samples:
                return None
            expected = track.mean
        base = max(policy.floor, policy.multiple * expected)
        return base * (1 << min(track.strikes, policy.max_strikes))

    def due(self, now: float) -> bool:
        """True at most once per ``policy.interval``: time to call :meth:`stale`."""
        if now < self._next_check:
            return False
        self._next_check = now + self.policy.interval
        return True

    def stale(
        self, now: float, live: Iterable[str], wanted: Iterable[str] | None = None
    ) -> list[Stale]:
        """The ``live`` streams (subscribed and confirmed) silent past their limit.

        A live stream not tracked yet starts its clock now (silence is counted from
        its confirmation, not from the epoch); tracks of streams not ``wanted`` (by
        default: not live) are forgotten, so a stream being resubscribed keeps its
        strikes. Each stream returned counts a strike and its clock restarts, as it
        is about to be resubscribed."""
        live = set(live)
        keep = live if wanted is None else live | set(wanted)
        tracks = self._tracks
        for stream in [s for s in tracks if s not in keep]:
            del tracks[stream]
        found: list[Stale] = []
        for stream in live:
            track = tracks.get(stream)
            if track is None:
                tracks[stream] = now  # one float shared by every stream started here
                continue
            limit = self.limit(stream)
            if not isinstance(track, _Track):  # silent since it was started
                silent = now - track
                if limit is not None and silent > limit:
                    tracks[stream] = struck = _Track(now)
                    struck.strikes = 1
                    found.append(Stale(stream, silent, limit, 1))
                continue
            silent = now - track.last
            if limit is not None and silent > limit:
                track.strikes += 1
                track.last = track.folded_at = now
                found.append(Stale(stream, silent, limit, track.strikes))
        return found

    def restart(self, streams: Iterable[str], now: float) -> None:
        """Start the clocks of ``streams`` over (e.g. the connection was just opened)."""
        tracks = self._tracks
        for stream in streams:
            track = tracks.get(stream)
            if isinstance(track, _Track):
                track.last = now
            elif track is not None:
                tracks[stream] = now


class QuietUserData:
    """When to reconcile a user-data stream that went silent while orders are open.

    A stalled user-data stream keeps its connection alive (pings, request replies)
    and so would hide a fill until the next reconnect. ``due`` says yes once nothing
    has been heard for ``after`` seconds -- counted from the later of the last update
    and the last reconcile -- while at least one order is open; with no open order
    there is nothing a silence could hide, and nothing is done.
    """

    def __init__(self, after: float, now: float) -> None:
        if not (isinstance(after, int | float) and 0 < after < float("inf")):
            raise ValueError(f"the user-data quiet interval must be positive, not {after!r}")
        self.after = float(after)
        self._reference = now
        #: Reconciles this watch asked for.
        self.triggered = 0

    def due(self, now: float, last_update: float | None, open_orders: int) -> bool:
        heard = self._reference if last_update is None else max(self._reference, last_update)
        if open_orders <= 0 or now - heard < self.after:
            return False
        self._reference = now  # the next one waits a whole interval after this reconcile
        self.triggered += 1
        return True
