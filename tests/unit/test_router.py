from concurrent.futures import Future

from ccxtpro_sync._core.router import Router
from ccxtpro_sync._sync.futures import reject, resolve


def test_callbacks_are_copy_on_write_and_removable():
    router = Router()
    seen: list[object] = []
    h1 = router.add_callback("ticker:BTC/USDT", seen.append)
    snapshot = router.callbacks("ticker:BTC/USDT")
    h2 = router.add_callback("ticker:BTC/USDT", seen.append)
    assert len(snapshot) == 1  # an earlier read is unaffected by later changes
    assert router.callbacks("ticker:BTC/USDT") == (h1, h2)
    assert router.remove_callback(h1) is True
    assert router.remove_callback(h1) is False
    assert router.callbacks("ticker:BTC/USDT") == (h2,)
    assert router.remove_callback(h2) is True
    assert router.callbacks("ticker:BTC/USDT") == ()
    assert not router.is_wanted("ticker:BTC/USDT")


def test_several_waiters_on_one_hash_all_resolve():
    router = Router()
    futures = [router.add_waiter(["trades:ETH/USDT"], Future()) for _ in range(3)]
    assert router.waiter_count() == 3
    assert resolve(router.pop_waiters("trades:ETH/USDT"), 42) == 3
    assert [f.result(0) for f in futures] == [42, 42, 42]
    assert router.pop_waiters("trades:ETH/USDT") == []


def test_multi_hash_waiter_resolves_once_and_can_be_discarded():
    router = Router()
    future = router.add_waiter(["ticker:A", "ticker:B"], Future())
    assert router.waiter_count() == 1
    assert resolve(router.pop_waiters("ticker:B"), "b") == 1
    # the same future still sits under ticker:A; resolving again is a no-op
    assert resolve(router.pop_waiters("ticker:A"), "a") == 0
    assert future.result(0) == "b"

    other = router.add_waiter(["ticker:A", "ticker:B"], Future())
    router.discard_waiter(other)
    assert router.waiter_count() == 0
    assert not router.has_waiters("ticker:A")


def test_reject_skips_done_futures():
    done: Future[int] = Future()
    done.set_result(1)
    pending: Future[int] = Future()
    reject([done, pending], RuntimeError("boom"))
    assert done.result() == 1
    assert isinstance(pending.exception(0), RuntimeError)


def test_pop_all_waiters_deduplicates_multi_hash_waiters():
    router = Router()
    router.add_waiter(["a", "b"], Future())
    router.add_waiter(["a"], Future())
    assert len(router.pop_all_waiters()) == 2
    assert router.waiter_count() == 0
