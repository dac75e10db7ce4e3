"""Record framing: round trip, and scans that stop at damage instead of skipping it."""

from __future__ import annotations

from decimal import Decimal

from journal_fixtures import record_offsets, toy_commands

from tidepool.engine.commands import (
    BindAgent,
    CancelAllOrders,
    Command,
    RevokeAgent,
    RevokeAllAgents,
    SetMarkPrice,
)
from tidepool.journal.framing import HEADER, RecordScanner, encode_record


def _every_kind() -> list[Command]:
    cmds = toy_commands(6)  # faucet, create, cancel
    n = len(cmds)
    return [
        *cmds,
        SetMarkPrice(seq=n + 1, ts_ms=1, symbol="BTC", price=Decimal("101234.5")),
        CancelAllOrders(seq=n + 2, ts_ms=2, account="a", symbol=None, exclude_reduce_only=True),
        BindAgent(seq=n + 3, ts_ms=3, account="a", agent="b"),
        RevokeAgent(seq=n + 4, ts_ms=4, account="a", agent="b"),
        RevokeAllAgents(seq=n + 5, ts_ms=5, account="a"),
    ]


def test_every_command_kind_round_trips_through_a_record() -> None:
    cmds = _every_kind()
    data = b"".join(encode_record(c) for c in cmds)
    scanner = RecordScanner(data)
    assert [c for _, c in scanner] == cmds
    assert scanner.damage is None
    assert scanner.end == len(data)


def test_offsets_reported_are_record_starts() -> None:
    cmds = toy_commands(5)
    data = b"".join(encode_record(c) for c in cmds)
    assert [off for off, _ in RecordScanner(data)] == record_offsets(cmds)[:-1]


def test_checksum_covers_the_length_field() -> None:
    cmds = toy_commands(3)
    data = bytearray(b"".join(encode_record(c) for c in cmds))
    start = record_offsets(cmds)[1]
    data[start] -= 1  # one byte shorter: the record would still fit, but the crc disagrees
    scanner = RecordScanner(bytes(data))
    assert len(list(scanner)) == 1
    assert scanner.damage is not None
    assert scanner.damage.offset == start
    assert scanner.damage.reason == "checksum mismatch"
    assert scanner.damage.valid_record_after == record_offsets(cmds)[2]
    assert scanner.damage.seq_after == 3 and not scanner.damage.torn


def test_zero_filled_tail_is_torn_with_nothing_valid_after() -> None:
    cmds = toy_commands(2)
    data = b"".join(encode_record(c) for c in cmds) + bytes(4096)
    scanner = RecordScanner(data)
    assert len(list(scanner)) == 2
    assert scanner.damage is not None
    assert scanner.damage.valid_record_after is None and scanner.damage.torn
    assert "implausible record length 0" in scanner.damage.reason


def test_a_complete_last_record_with_a_bad_checksum_is_not_torn() -> None:
    data = bytearray(b"".join(encode_record(c) for c in toy_commands(2)))
    data[-1] ^= 0x01
    scanner = RecordScanner(bytes(data))
    assert len(list(scanner)) == 1
    assert scanner.damage is not None and not scanner.damage.torn
    assert scanner.damage.reason == "checksum mismatch; not a torn write: the record is complete"


def test_a_last_record_cut_short_is_torn() -> None:
    data = b"".join(encode_record(c) for c in toy_commands(2))
    scanner = RecordScanner(data[:-1])
    assert len(list(scanner)) == 1
    assert scanner.damage is not None and scanner.damage.torn
    assert "runs 1 bytes past the end" in scanner.damage.reason


def test_short_header_at_the_end_is_reported() -> None:
    data = encode_record(toy_commands(1)[0])
    scanner = RecordScanner(data + data[: HEADER.size - 1])
    assert len(list(scanner)) == 1
    assert scanner.damage is not None and "short record header" in scanner.damage.reason
    assert scanner.damage.torn
