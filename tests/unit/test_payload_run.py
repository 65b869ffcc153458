"""One bound stream's consecutive frames decoded in one call (``combined.payload_run``):
the compiled loop (``_stream_run.c``) against the Python one, on whatever a burst may
hold. Both must take the same frames, give the same payloads and raise the same
errors; a frame either stops at is the general path's (``receive_run``)."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccxtpro_sync._core.frames import OP_BINARY, OP_PING, OP_TEXT
from ccxtpro_sync._exchanges.binance import combined, wire
from ccxtpro_sync._exchanges.binance.combined import REFUSED, RunKey, _payload_run
from tests.required import in_ci

from .support import compiled_missing, printed_in_child
from .test_combined_frames import TRADES, agg

DECODE = combined.combined_decoder(wire.AGG_TRADE_DECODER)
KEY: RunKey = (TRADES.encode() + b'"', DECODE, TRADES)

try:
    from ccxtpro_sync import _stream_run
except ImportError:
    _stream_run = None  # type: ignore[assignment]


@pytest.fixture
def compiled() -> Any:
    if _stream_run is None:
        compiled_missing("compiled payload run", "ccxtpro_sync._stream_run")
    return lambda *args: _stream_run.payloads(REFUSED, *args)


def _frames(rng: random.Random, count: int) -> list[Any]:
    """Frames of the stream, with everything a run must stop at mixed in."""
    out: list[Any] = []
    for k in range(count):
        roll = rng.random()
        if roll < 0.6:
            out.append((OP_TEXT, agg(k)))
        elif roll < 0.65:
            out.append((OP_BINARY, agg(k)))
        elif roll < 0.7:
            out.append((OP_PING, agg(k)))
        elif roll < 0.75:
            out.append((OP_TEXT, agg(k, stream="ethbtc@trade")))  # another stream
        elif roll < 0.8:
            out.append((OP_TEXT, agg(k, stream="ethbtc@aggTradeX")))  # a longer name
        elif roll < 0.85:  # the name spelt right at the start, another one inside
            out.append((OP_TEXT, agg(k)[:-1] + b',"stream":"ltcbtc@aggTrade"}'))
        elif roll < 0.9:
            out.append((OP_TEXT, agg(k).replace(b'"p":"0.05"', b'"p":5')))  # refused
        elif roll < 0.93:
            out.append((OP_TEXT, agg(k)[: rng.randint(0, 40)]))  # cut short
        elif roll < 0.96:
            out.append((OP_TEXT, b'{"stream":"' + b"[" * 5000))  # too deep: RecursionError
        else:
            out.append((OP_TEXT, rng.choice([b"", b"{", b"[]", b'{"result":null,"id":1}'])))
    return out


def _outcome(run: Any, messages: list[Any], index: int, end: int, key: RunKey) -> Any:
    try:
        return [msgspec.json.encode(p) for p in run(messages, index, end, key)]
    except Exception as error:
        return type(error).__name__, str(error)


@pytest.mark.parametrize("seed", range(30))
def test_compiled_and_python_take_the_same_frames(compiled: Any, seed: int) -> None:
    rng = random.Random(seed)
    messages = _frames(rng, rng.randint(1, 120))
    for _ in range(40):
        index = rng.randint(0, len(messages))
        end = rng.randint(index, len(messages) + 3)
        ours = _outcome(compiled, messages, index, end, KEY)
        assert ours == _outcome(_payload_run, messages, index, end, KEY)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([OP_TEXT, OP_BINARY, OP_PING, 0, 3]),
            st.one_of(
                st.builds(agg, st.integers(0, 10**6)),
                st.binary(max_size=60).map(lambda b: b'{"stream":"ethbtc@aggTrade"' + b),
                st.binary(max_size=60),
            ),
        ),
        max_size=20,
    ),
    st.integers(0, 22),
)
def test_compiled_and_python_agree_on_any_bytes(messages: list[Any], end: int) -> None:
    if _stream_run is None:
        if in_ci():
            pytest.fail("ccxtpro_sync._stream_run is not built")
        return

    def compiled(*args: Any) -> Any:
        return _stream_run.payloads(REFUSED, *args)

    ours = _outcome(compiled, messages, 0, end, KEY)
    assert ours == _outcome(_payload_run, messages, 0, end, KEY)


def test_a_run_stops_at_the_first_frame_that_is_not_the_streams(compiled: Any) -> None:
    messages = [(OP_TEXT, agg(k)) for k in range(5)]
    messages[3] = (OP_TEXT, agg(3, price="x").replace(b'"p":"x"', b'"p":1'))
    for run in (compiled, _payload_run):
        payloads = run(messages, 0, len(messages), KEY)
        assert [p.agg_trade_id for p in payloads] == [0, 1, 2]
        assert run(messages, 3, len(messages), KEY) == []  # the general path's frame
        assert [p.agg_trade_id for p in run(messages, 4, 99, KEY)] == [4]
        assert [p.agg_trade_id for p in run(messages, 1, 2, KEY)] == [1]  # end bounds it


def test_errors_other_than_a_refused_decode_propagate_from_both(compiled: Any) -> None:
    def broken(data: bytes) -> Any:
        raise KeyError("a bug")

    for run in (compiled, _payload_run):
        with pytest.raises(KeyError, match="a bug"):
            run([(OP_TEXT, agg(1))], 0, 1, (KEY[0], broken, TRADES))


def test_the_compiled_run_refuses_bad_arguments(compiled: Any) -> None:
    assert _stream_run is not None
    messages = [(OP_TEXT, agg(1))]
    with pytest.raises(TypeError):
        _stream_run.payloads(REFUSED, tuple(messages), 0, 1, KEY)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _stream_run.payloads(REFUSED, messages, 0, 1, (KEY[1], KEY[1], TRADES))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _stream_run.payloads(REFUSED, messages, 0, 1)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        _stream_run.payloads(REFUSED, messages, -1, 1, KEY)
    # messages of another shape are not the run's: it stops, as at any unusual frame
    assert _stream_run.payloads(REFUSED, [(OP_TEXT,), ("1", agg(1))], 0, 2, KEY) == []  # type: ignore[list-item]


def test_a_decoder_that_empties_the_list_does_not_crash_the_compiled_run(
    compiled: Any,
) -> None:
    # Memory safety only (no decoder of the library touches the list): the compiled
    # loop reads the list's size again after each decode and stops.
    messages: list[Any] = [(OP_TEXT, agg(k)) for k in range(4)]

    def clearing(data: bytes) -> Any:
        messages.clear()
        return DECODE(data)

    result = compiled(messages, 0, 4, (KEY[0], clearing, TRADES))
    assert [p.agg_trade_id for p in result] == [0]


def _impl_in_child(value: str | None) -> str:
    code = (
        "from ccxtpro_sync._exchanges.binance import combined; "
        "print(combined.payload_run is not combined._payload_run)"
    )
    return printed_in_child(value, code)


def test_pure_python_setting_keeps_the_compiled_run_out(compiled: Any) -> None:
    assert _impl_in_child("1") == "False"
    assert _impl_in_child("0") == "True"
    assert _impl_in_child(None) == "True"
