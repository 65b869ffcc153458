from ccxtpro_sync._core.pacing import TokenBucket
from ccxtpro_sync._core.subscriptions import SubscriptionBook


def test_reference_counting_shares_one_wire_subscription():
    book = SubscriptionBook()
    assert book.acquire(["a", "b"]) == ["a", "b"]
    assert book.acquire(["a"]) == []
    assert book.release(["a"]) == []
    assert book.release(["a", "b"]) == ["a", "b"]
    assert book.release(["a"]) == []
    assert book.desired() == []


def test_confirmation_and_replay_after_disconnect():
    book = SubscriptionBook()
    book.acquire(["a", "b", "c"])
    book.sent(1, "subscribe", ["a", "b"])
    assert book.acknowledged(1) is not None
    assert book.confirmed() == {"a", "b"}
    assert book.unconfirmed() == ["c"]
    book.sent(2, "subscribe", ["c"])
    book.disconnected()
    assert book.confirmed() == set()
    assert book.pending_requests() == {}
    assert book.desired() == ["a", "b", "c"]  # replay list, first-wanted order
    assert book.acknowledged(2) is None  # an answer from the dead socket is not ours


def test_refused_subscription_is_no_longer_desired():
    book = SubscriptionBook()
    book.acquire(["good", "bad"])
    book.sent(7, "subscribe", ["bad"])
    request = book.refused(7)
    assert request is not None and request.topics == ("bad",)
    assert book.desired() == ["good"]


def test_unsubscribe_ack_removes_confirmation():
    book = SubscriptionBook()
    book.acquire(["a"])
    book.mark_confirmed(["a"])
    book.release(["a"])
    book.sent(3, "unsubscribe", ["a"])
    book.acknowledged(3)
    assert book.confirmed() == set()


def test_token_bucket_spaces_out_bursts():
    bucket = TokenBucket(rate=4, burst=4, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(6)]
    assert waits[:4] == [0.0, 0.0, 0.0, 0.0]
    assert waits[4] == 0.25 and waits[5] == 0.5
    # after a quiet second the bucket has refilled (minus the debt)
    assert bucket.reserve(2.0) == 0.0
