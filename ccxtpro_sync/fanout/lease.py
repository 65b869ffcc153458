"""A shard lease in Redis: a key holding the owner's id with a TTL.

The holder renews it every ``ttl / 3``; a holder that cannot renew (it died, or Redis
was unreachable) loses it when the key expires, and a standby's next acquire wins.
Renewal is a compare-and-expire script, so a collector never extends a lease that
expired and was taken by another one meanwhile. Sans-threads: the collector's lease
thread calls :meth:`acquire`/:meth:`renew`.
"""

from __future__ import annotations

import redis

from .._exceptions import InvalidArgument

__all__ = ["Lease"]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """Ownership of one key for ``ttl`` seconds at a time."""

    def __init__(self, client: redis.Redis, key: str, owner: str, ttl: float) -> None:
        if ttl <= 0:
            raise InvalidArgument("lease ttl must be positive")
        self.key = key
        self.owner = owner
        self.ttl = ttl
        self._redis = client
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def _ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    def acquire(self) -> bool:
        """Take the lease if nobody holds it (or we do); True when we hold it now."""
        if self._redis.set(self.key, self.owner, nx=True, px=self._ms):
            return True
        return self.renew()

    def renew(self) -> bool:
        """Extend our lease; False if it is not ours (expired, or another owner's)."""
        return bool(self._renew(keys=[self.key], args=[self.owner, self._ms]))

    def release(self) -> None:
        """Give the lease up at once (clean shutdown), if it is ours."""
        self._release(keys=[self.key], args=[self.owner])

    def holder(self) -> str | None:
        value = self._redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
