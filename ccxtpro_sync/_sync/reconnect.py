"""Reconnect policies: tenacity ``Retrying`` objects with exchange-aware defaults.

A policy decides how connection attempts are retried: which errors are worth
another try (network trouble, throttling) and which are final (bad URL,
authentication, ``close()``), and how long to wait in between (exponential
back-off with jitter, never shorter than a server's ``Retry-After``). The
connection substitutes its own interruptible sleep, so ``close()`` cuts any
back-off short.
"""

from __future__ import annotations

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from .._exceptions import ClientClosed, DDoSProtection, NetworkError

__all__ = ["default_reconnect_policy", "is_retryable", "wait_retry_after"]


def is_retryable(error: BaseException) -> bool:
    """Network trouble and throttling are retried; everything else is final."""
    if isinstance(error, ClientClosed):
        return False
    return isinstance(error, NetworkError | OSError)


class wait_retry_after(wait_base):
    """Wait as ``fallback`` says, but at least as long as the server's ``Retry-After``."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self.fallback(retry_state)
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(error, DDoSProtection) and error.retry_after:
            return max(delay, error.retry_after)
        return delay


def default_reconnect_policy(
    *,
    initial: float = 0.5,
    maximum: float = 30.0,
    max_attempts: int | None = None,
) -> Retrying:
    """Exponential back-off with full jitter from ``initial`` up to ``maximum`` seconds.

    ``max_attempts=None`` retries until ``close()``; otherwise the connection
    gives up after that many consecutive failed attempts and fails its waiters.
    """
    stop: stop_base = stop_never if max_attempts is None else stop_after_attempt(max_attempts)
    return Retrying(
        wait=wait_retry_after(wait_random_exponential(multiplier=initial, max=maximum)),
        stop=stop,
        retry=retry_if_exception(is_retryable),
        reraise=True,
    )
