"""A depth diff's levels read straight from the frame's text (``pack_levels``) and
applied from the packed pairs (``apply_levels`` given bytes): the compiled versions
against the Python ones bit for bit, and both against what the float decoder gives
for the same text, on seeded hostile spellings; then through ``MarketData`` with
each level loop, where text the packer does not take still gets the decoder's
values or its error, and a refused message leaves the book as it was."""

from __future__ import annotations

import json
import math
import random
import struct
from decimal import Decimal
from types import ModuleType
from typing import Any

import msgspec
import pytest

from ccxtpro_sync import _book_levels_py, _orderbook
from ccxtpro_sync._exceptions import ProtocolError
from ccxtpro_sync._exchanges.binance import combined, wire
from ccxtpro_sync._exchanges.binance.market_data import MarketData
from ccxtpro_sync._exchanges.binance.markets import Markets, parse_market

from .book_impls import book_levels, exact, levels_module, run, side, state  # noqa: F401  (a fixture)


@pytest.fixture
def c() -> ModuleType:
    return levels_module("compiled")


# -------------------------------------------------------------------- pack_levels

# Spellings of one number: plain decimals the packer takes, and everything around them
# it must leave to the decoder (which takes some, with the same value, and refuses others).
_PLAIN = ["0", "1", "7.5", "65000.01000000", "0.00000001", "123456789012345678", "9007199254740993",
          "1.0000000000000000000000001", "0.30000000000000004", "4.35", "1" + "0" * 63,
          "12345678901234567890.123", "0." + "0" * 30 + "1"]  # fmt: skip
_ODD = ["01", "00", "1.", ".5", "-1", "+1", "1e5", "1E-5", "NaN", "nan", "Infinity", "-0", " 1",
        "1 ", "0x10", "1_000", "\u0661", "\\u0031", "", "1.2.3", "1" * 65, "9" * 400, "0.1e400",
        "1" + "0" * 64, "179769313486231570" + "0" * 291]  # fmt: skip


def _number(rng: random.Random, clean: bool) -> str:
    if clean or rng.random() < 0.8:
        return json.dumps(rng.choice(_PLAIN) if rng.random() < 0.5 else _random_plain(rng))
    choice = rng.random()
    if choice < 0.6:
        return json.dumps(rng.choice(_ODD), ensure_ascii=rng.random() < 0.5)
    if choice < 0.8:  # unquoted: a JSON number
        return rng.choice(["1", "1.5", "0", "-2", "1e3", "true", "null"])
    return rng.choice(['"1', "[]", "{}", '"1""', "1.5]"])


def _random_plain(rng: random.Random) -> str:
    whole = str(rng.randrange(0, 10 ** rng.randrange(1, 25)))
    if rng.random() < 0.3:
        return whole
    return whole + "." + "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 30)))


def _ws(rng: random.Random) -> str:
    return "".join(rng.choice(" \t\n\r") for _ in range(rng.choice([0, 0, 0, 1, 2])))


def level_text(rng: random.Random) -> bytes:
    """A level array as a server might spell it, or mangle it."""
    levels = []
    clean = rng.random() < 0.5  # plain numbers only (the array may still be mangled)
    for _ in range(rng.choice([0, 1, 2, 10, 20, rng.randrange(0, 200)])):
        w = _ws
        parts = [_number(rng, clean) for _ in range(rng.choice([2, 2, 2, 2, 2, 2, 1, 3]))]
        levels.append(f"[{w(rng)}{f'{w(rng)},{w(rng)}'.join(parts)}{w(rng)}]")
    text = f"{_ws(rng)}[{_ws(rng)}{f'{_ws(rng)},{_ws(rng)}'.join(levels)}{_ws(rng)}]{_ws(rng)}"
    data = text.encode()
    roll = rng.random()
    if roll < 0.05 and data:  # cut anywhere
        data = data[: rng.randrange(len(data))]
    elif roll < 0.1:
        data = data.replace(b"]", b",]", 1) if rng.random() < 0.5 else data + b","
    elif roll < 0.13:
        data = bytes([rng.randrange(256)]) + data
    return data


def _decoded(text: bytes) -> list[tuple[str, str]] | None:
    """What the float event's decoder makes of the text: its pairs, or None (refused)."""
    try:
        pairs = wire.FLOAT_LEVELS_DECODER.decode(text)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return [exact(x) for pair in pairs for x in pair]


def _unpacked(packed: bytes) -> list[tuple[str, str]]:
    return [exact(x) for x in struct.unpack(f"{len(packed) // 8}d", packed)]


def test_seeded_level_texts_pack_alike_and_as_the_float_decoder_reads_them(c: ModuleType) -> None:
    taken = left = 0
    for seed in range(3000):
        text = level_text(random.Random(seed))
        got = c.pack_levels(text)
        assert got == _book_levels_py.pack_levels(text), f"seed {seed}: {text!r}"
        if got is None:
            left += 1
            continue
        taken += 1
        # Taken: the decoder takes it too, with the same doubles bit for bit.
        assert _unpacked(got) == _decoded(text), f"seed {seed}: {text!r}"
    assert taken > 800 and left > 800, (taken, left)  # both outcomes well covered


@pytest.mark.parametrize("number", _PLAIN)
def test_every_plain_spelling_is_taken_with_the_decoder_s_value(c: ModuleType, number: str) -> None:
    text = json.dumps([[number, number]]).encode()
    packed = c.pack_levels(text)
    assert packed is not None and packed == _book_levels_py.pack_levels(text)
    assert _unpacked(packed) == _decoded(text) == [exact(float(number))] * 2


@pytest.mark.parametrize("number", _ODD)
def test_other_spellings_are_left_to_the_decoder(c: ModuleType, number: str) -> None:
    text = json.dumps([["1.5", number]]).encode()
    assert c.pack_levels(text) is None
    assert _book_levels_py.pack_levels(text) is None


def test_random_decimals_round_as_float_does(c: ModuleType) -> None:
    """The fast path (at most 19 digits, a mantissa up to 2**53, 22 decimals) and the
    slow one agree with ``float()`` on the text, near the edges of both."""
    rng = random.Random(7)
    for _ in range(20000):
        digits = rng.randrange(1, 40)
        number = str(rng.randrange(10 ** (digits - 1), 10**digits))
        point = rng.randrange(0, digits)
        if point:
            number = number[: digits - point] + "." + number[digits - point :]
        packed = c.pack_levels(f'[["{number}","1"]]'.encode())
        assert packed is not None, number
        assert struct.unpack("2d", packed)[0] == float(number), number


def test_a_stray_byte_anywhere_in_a_run_of_digits_is_seen(c: ModuleType) -> None:
    """The compiled packer reads eight digits at a time: a byte next to the digits in
    ASCII, or one whose nibbles carry, at any place of a run is still refused (or, a
    point, read as the point) exactly as the Python version does."""
    digits = b"1234567890123456789012345"
    for stray in b"/:.\x00 \xfa\xff\x7f0":
        for at in range(len(digits)):
            number = digits[:at] + bytes([stray]) + digits[at + 1 :]
            for text in (b'[["%s","1"]]' % number, b'[["1.%s","1"]]' % number):
                got = c.pack_levels(text)
                assert got == _book_levels_py.pack_levels(text), text
                if got is not None:
                    assert _unpacked(got) == _decoded(text), text


@pytest.mark.parametrize("text", [b"", b"[", b"]", b"[[", b"[[]]", b'[["1"]]', b"{}", b"null"])
def test_broken_texts_are_refused_by_both(c: ModuleType, text: bytes) -> None:
    assert c.pack_levels(text) is None
    assert _book_levels_py.pack_levels(text) is None


def test_bytes_like_inputs_and_bad_types(c: ModuleType) -> None:
    text = b'[["2.5","1"]]'
    for module in (c, _book_levels_py):
        want = struct.pack("2d", 2.5, 1.0)
        assert module.pack_levels(msgspec.Raw(text)) == want
        assert module.pack_levels(memoryview(text)) == want
        assert module.pack_levels(bytearray(text)) == want
        for bad in ("[]", None, 5, [b"[]"]):
            with pytest.raises(TypeError):
                module.pack_levels(bad)


def test_a_huge_level_count_is_packed_whole(c: ModuleType) -> None:
    text = ("[" + ",".join(f'["{k}.5","1"]' for k in range(100_000)) + "]").encode()
    packed = c.pack_levels(text)
    assert packed is not None and len(packed) == 16 * 100_000
    assert packed == _book_levels_py.pack_levels(text)


# ------------------------------------------------------------- apply_levels(bytes)


_VALUES = [0.0, -0.0, 0.25, 1.0, 2.5, 3.0, 7.75, 15.0, math.nan, math.inf, -math.inf, -1.0, 5e-324]


def _pairs(rng: random.Random) -> list[tuple[float, float]]:
    return [
        (rng.choice(_VALUES) if rng.random() < 0.2 else rng.randrange(1, 61) / 4,
         rng.choice(_VALUES))
        for _ in range(rng.randrange(0, 25))
    ]  # fmt: skip


@pytest.mark.parametrize("limit", [None, 1, 4])
@pytest.mark.parametrize("neg", [False, True])
@pytest.mark.parametrize("keys", ["float", "decimal", "mixed"])
def test_packed_pairs_apply_as_the_same_pairs_do_in_both_loops(
    c: ModuleType, limit: int | None, neg: bool, keys: str
) -> None:
    """Packed, the C loop compares doubles where the side holds exact floats and goes the
    generic way otherwise (Decimal or int keys, a Decimal bound): every state is the one
    the Python loop reaches from the unpacked pairs, NaN, infinities and -0.0 included."""
    rng = random.Random(f"{limit}-{neg}-{keys}")
    convert = {"float": float, "decimal": Decimal, "mixed": lambda x: int(x) if x == int(x) else x}
    for _ in range(40):
        snapshot = [
            (convert[keys](rng.randrange(1, 61) / 4), 1.0) for _ in range(rng.randrange(0, 20))
        ]
        depth = rng.choice([None, 5, 12])
        sides = [side(neg, limit, snapshot, depth) for _ in range(3)]
        for _ in range(40):
            pairs = _pairs(rng)
            packed = struct.pack(f"{2 * len(pairs)}d", *(x for p in pairs for x in p))
            results = [
                run(c, sides[0], packed),
                run(_book_levels_py, sides[1], packed),
                run(_book_levels_py, sides[2], pairs),
            ]
            assert results[0] == results[1] == results[2]
            assert state(sides[0]) == state(sides[1]) == state(sides[2])


@pytest.mark.parametrize("size", [1, 8, 15, 17, 31])
def test_packed_bytes_of_a_wrong_length_fail_alike_and_change_nothing(
    c: ModuleType, size: int
) -> None:
    results = []
    for module in (c, _book_levels_py):
        s = side(False, None, [(1.0, 1.0)], None)
        results.append((run(module, s, b"\x00" * size), state(s)))
    assert results[0] == results[1]
    assert results[0][0] == ("ValueError", "packed levels: length not a multiple of 16")


def test_a_packed_level_beyond_the_bound_is_ignored_in_both(c: ModuleType) -> None:
    for module in (c, _book_levels_py):
        s = side(False, None, [(5.0, 1.0), (6.0, 1.0)], 2)  # full at depth 2: bound 5.0
        run(module, s, struct.pack("4d", 4.0, 1.0, 5.5, 2.0))
        assert state(s) == state(side(False, None, [(5.0, 1.0), (5.5, 2.0), (6.0, 1.0)], 3))


# --------------------------------------------------------------------- MarketData


def _market_data() -> MarketData:
    raw = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
           "filters": []}  # fmt: skip
    markets = Markets([parse_market(raw, "spot", float)], "spot", number=float)
    data = MarketData(markets)
    stream = "btcusdt@depth"
    data.route(stream, _diff(10, 10, '[["99.5","1"]]', "[]"), 0.0)
    snapshot = b'{"lastUpdateId":10,"bids":[["99","1"],["98","2"]],"asks":[["101","1"]]}'
    data.apply_snapshot("BTC/USDT", snapshot, 1000)
    assert data.books["BTC/USDT"].synced
    return data


def _diff(first: int, last: int, bids: str, asks: str) -> msgspec.Raw:
    return msgspec.Raw(
        b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":%d,"u":%d,"b":%s,"a":%s}'
        % (first, last, bids.encode(), asks.encode())
    )


def _book(data: MarketData) -> Any:
    view = data.books["BTC/USDT"].view()
    return [[exact(x) for x in level] for level in view.bids + view.asks], view.nonce


@pytest.mark.usefixtures("book_levels")
@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ('[["99","0"],["98.5","3"]]', '[["100.25","4"]]'),  # plain: packed (with C)
        ('[["9.9e1","0"],["98.50","3E0"]]', "[[100.25,4]]"),  # exponents, bare numbers
        ('[ ["99" , "0"] , ["98.5","3"]]', '[["100.25" ,"4"]]'),  # white space
    ],
)
def test_odd_spellings_reach_the_book_with_the_decoder_s_values(bids: str, asks: str) -> None:
    data = _market_data()
    data.route("btcusdt@depth", _diff(11, 11, bids, asks), 0.0)
    want = _market_data()
    want.route("btcusdt@depth", _diff(11, 11, '[["99","0"],["98.5","3"]]', '[["100.25","4"]]'), 0.0)
    assert _book(data) == _book(want)
    assert _book(data)[1] == 11


@pytest.mark.usefixtures("book_levels")
@pytest.mark.parametrize(
    ("bids", "asks"),
    [
        ('[["98.5","3"]]', '[["NaN","1"]]'),  # a bad ask after good bids
        ('[["98.5","3"]]', '[["100","Infinity"]]'),
        ('[["98.5","3"]]', '[["100","-1"]]'),
        ('[["98.5","3"]]', '[["100"]]'),
        ('[["98.5","3"],["1e400","1"]]', "[]"),  # overflows a double
        ('[["98.5","3"]]', '[["100","1","2"]]'),
        ('[["98.5","3"]]', '[["0100","1"]]'),  # a leading zero
    ],
)
def test_a_refused_level_fails_its_message_and_leaves_the_book_as_it_was(
    bids: str, asks: str
) -> None:
    data = _market_data()
    before = _book(data)
    with pytest.raises(ProtocolError, match="malformed Binance payload"):
        data.route("btcusdt@depth", _diff(11, 11, bids, asks), 0.0)
    assert _book(data) == before
    data.route("btcusdt@depth", _diff(11, 11, '[["98.5","3"]]', "[]"), 0.0)  # goes on
    assert _book(data)[1] == 11


def test_the_live_path_packs_only_with_the_compiled_loop() -> None:
    want = "compiled" if _orderbook._LEVELS_IMPL == "compiled" else None
    assert (_orderbook._pack_levels is not None) == (want is not None)
    if want is not None:
        assert _orderbook._pack_levels is levels_module("compiled").pack_levels


# -------------------------------------------------------------------- depth_frame

_FRAME_DECODER = msgspec.json.Decoder(
    combined.Combined[wire.DepthUpdateFloatEvent],  # type: ignore[name-defined]
    strict=False,
)
_NAME = "btcusdt@depth"


def _reference(frame: bytes) -> Any:
    """What the float event's one-pass decoder (the path before the C reader) makes
    of a frame: the fields the book uses, or None (refused)."""
    try:
        got = _FRAME_DECODER.decode(frame)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    e = got.data
    levels = [[exact(x) for pair in side for x in pair] for side in (e.bids, e.asks)]
    fields = (e.first_update_id, e.final_update_id, e.prev_final_update_id)
    return (got.stream, *fields, e.transaction_time, e.event_time, *levels)


def _read(c: ModuleType, frame: bytes, in_c: list[bytes] | None = None) -> Any:
    """The frame through depth_frame with the live fallback, levels as the book gets
    them; a frame read in C is added to ``in_c``."""
    fallback = combined.combined_decoder(wire.DEPTH_UPDATE_RAW_LEVELS_DECODER)
    try:
        got = c.depth_frame(_NAME.encode(), _NAME, combined.Combined, fallback, frame)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    e = got.data
    if type(e) is tuple:
        if in_c is not None:
            in_c.append(frame)
        first, final, prev, tx, when, bids, asks = e
        sides = [_unpacked(bids), _unpacked(asks)]
        return (got.stream, first, final, prev, tx, when, *sides)
    sides = []
    for text in (e.bids, e.asks):
        packed = c.pack_levels(text)
        if packed is not None:
            sides.append(_unpacked(packed))
            continue
        try:
            pairs = wire.FLOAT_LEVELS_DECODER.decode(text)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        sides.append([exact(x) for pair in pairs for x in pair])
    fields = (e.first_update_id, e.final_update_id, e.prev_final_update_id)
    return (got.stream, *fields, e.transaction_time, e.event_time, *sides)


def _side_text(rng: random.Random) -> str:
    if rng.random() < 0.2:  # anything level_text makes
        return level_text(rng).decode("latin-1")
    pairs = [[_random_plain(rng), _random_plain(rng)] for _ in range(rng.randrange(0, 25))]
    return json.dumps(pairs, separators=(",", ":"))


def depth_frame_text(rng: random.Random) -> tuple[bytes, bool]:
    """A combined depth frame, plain or mangled; True when no field was mangled."""
    fields: list[tuple[str, str]] = [
        ("e", '"depthUpdate"'), ("E", str(rng.randrange(10**12, 10**13))), ("s", '"BTCUSDT"'),
        ("U", str(rng.randrange(1, 10**9))), ("u", str(rng.randrange(1, 10**9))),
        ("b", _side_text(rng)), ("a", _side_text(rng)),
    ]  # fmt: skip
    if rng.random() < 0.3:  # futures
        fields.insert(2, ("T", str(rng.randrange(10**12, 10**13))))
        fields.insert(6, ("pu", str(rng.randrange(0, 10**9))))
        if rng.random() < 0.3:
            fields.append(("ps", '"BTCUSD"'))
    plain = True
    roll = rng.random()
    if roll < 0.4:
        plain = False
        at = rng.randrange(len(fields))
        key, value = fields[at]
        mangled = rng.choice([
            lambda: (key, "null"), lambda: (key, '"12"'), lambda: (key, "-5"), lambda: (key, "1.0"),
            lambda: (key, "1e3"), lambda: (key, "9" * 19), lambda: (key, "0" + value),
            lambda: (key, '"B\\u0054C"'), lambda: (key, '"\\u00e9"'), lambda: (key, "[]"),
            lambda: ("x" + key, value), lambda: ("\\u0065" if key == "e" else key, value),
            lambda: (key, value + " "), lambda: (key, "true"),
        ])()  # fmt: skip
        fields[at] = mangled
        if rng.random() < 0.3:
            fields.append(fields[rng.randrange(len(fields))])  # a repeated key
        if rng.random() < 0.2:
            del fields[rng.randrange(len(fields))]
    if rng.random() < 0.2:
        rng.shuffle(fields)
    body = ",".join(f'{_ws(rng)}"{k}"{_ws(rng)}:{_ws(rng)}{v}' for k, v in fields)
    name = (
        _NAME if rng.random() < 0.95 else rng.choice(["btcusdt@depth@100ms", "x", "btcusdt@deptH"])
    )
    frame = f'{{"stream":"{name}",{_ws(rng)}"data":{{{body}}}{_ws(rng)}}}'.encode("latin-1")
    if rng.random() < 0.05:
        frame = frame[: rng.randrange(len(frame))]
    elif rng.random() < 0.05:
        frame += rng.choice([b"x", b"}", b" ", b","])
    return frame, plain


def test_seeded_frames_read_as_the_float_decoder_reads_them(c: ModuleType) -> None:
    """Every frame, plain or mangled, gives the book the float event decoder's values,
    or is refused where that decoder refuses it."""
    read = refused = 0
    in_c: list[bytes] = []
    for seed in range(3000):
        frame, _ = depth_frame_text(random.Random(seed))
        want = _reference(frame)
        assert _read(c, frame, in_c) == want, f"seed {seed}: {frame!r}"
        if want is None:
            refused += 1
        else:
            read += 1
    assert read > 1000 and refused > 300, (read, refused)
    assert len(in_c) > 800  # most of the frames read were read in C


def test_a_plain_frame_is_read_in_c_and_others_go_to_the_fallback(c: ModuleType) -> None:
    calls: list[bytes] = []

    def fallback(frame: bytes) -> Any:
        calls.append(frame)
        return "fallback"

    plain = b'{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":5,"s":"BTCUSDT","U":7,"u":9,"b":[["1.5","2"]],"a":[]}}'  # noqa: E501
    got = c.depth_frame(b"btcusdt@depth", _NAME, combined.Combined, fallback, plain)
    assert got.stream == _NAME and not calls
    assert got.data == (7, 9, None, None, 5, struct.pack("2d", 1.5, 2.0), b"")
    for other in (
        plain.replace(b'"E":5', b'"E":null'),
        plain.replace(b'"1.5"', b'"1.5e0"'),
        plain.replace(b"BTCUSDT", b"BTC\\u0055SDT"),
        plain.replace(b'"u":9', b'"u":9,"x":1'),
        plain.replace(b'"u":9', b'"u":9,"u":9'),
        plain.replace(b'"s":"BTCUSDT",', b""),
        plain.replace(b"btcusdt@depth", b"ethusdt@depth"),
        plain + b" x",
    ):
        assert (
            c.depth_frame(b"btcusdt@depth", _NAME, combined.Combined, fallback, other) == "fallback"
        )
        assert calls[-1] is other
    with pytest.raises(TypeError):
        c.depth_frame(_NAME, _NAME, combined.Combined, fallback, plain)  # a str name
    with pytest.raises(TypeError):
        c.depth_frame(b"btcusdt@depth", _NAME, combined.Combined, fallback)
