#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus: valid protocol v1 commands and queries,
and the hostile shapes the decoders must refuse (wrong types, floats,
huge declared lengths, deep nesting, invalid UTF-8, trailing bytes).

    python3 tests/fuzz/make_corpus.py      # rewrites tests/fuzz/corpus/

A tiny MessagePack encoder is inlined so that no package is needed.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def pack(value):
    if value is None:
        return b"\xc0"
    if value is True:
        return b"\xc3"
    if value is False:
        return b"\xc2"
    if isinstance(value, int):
        if 0 <= value < 128:
            return bytes([value])
        if -32 <= value < 0:
            return struct.pack("b", value)
        if 0 <= value < 2**64:
            return b"\xcf" + struct.pack(">Q", value)
        return b"\xd3" + struct.pack(">q", value)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        if len(value) < 32:
            return bytes([0xA0 | len(value)]) + value
        return b"\xd9" + bytes([len(value)]) + value
    if isinstance(value, bytearray):  # bin 8
        return b"\xc4" + bytes([len(value)]) + bytes(value)
    if isinstance(value, list):
        head = (bytes([0x90 | len(value)]) if len(value) < 16
                else b"\xdc" + struct.pack(">H", len(value)))
        return head + b"".join(pack(v) for v in value)
    if isinstance(value, dict):
        out = (bytes([0x80 | len(value)]) if len(value) < 16
               else b"\xde" + struct.pack(">H", len(value)))
        for k, v in value.items():
            out += pack(k) + pack(v)
        return out
    raise TypeError(type(value))


def credit(**changes):
    command = {"v": 1, "op": "topup", "key": "order-1", "user": "alice",
               "currency": "gold", "amount": 100, "source": "game1"}
    command.update(changes)
    return {k: v for k, v in command.items() if v is not Ellipsis}


BATCH = credit(op="batch", currency=..., amount=..., legs=[
    {"op": "spend", "currency": "gold", "amount": 60},
    {"op": "reward", "currency": "gems", "amount": 1, "user": "bob"},
])

COMMANDS = {
    "topup": pack(credit()),
    "reward_with_ref": pack(credit(op="reward", ref="quest-42")),
    "spend": pack(credit(op="spend", key="buy-7")),
    "batch": pack(BATCH),
    "unknown_field": pack(credit(extra=[1, 2, {"a": None}])),
    "float_amount": pack(credit(amount=1.5)),
    "zero_amount": pack(credit(amount=0)),
    "negative_amount": pack(credit(amount=-5)),
    "amount_too_big": pack(credit(amount=10**15 + 1)),
    "amount_uint64": pack(credit(amount=2**64 - 1)),
    "version_2": pack(credit(v=2)),
    "op_unknown": pack(credit(op="mint")),
    "user_bad_charset": pack(credit(user="al ice")),
    "key_too_long": pack(credit(key="k" * 129)),
    "ref_invalid_utf8": pack(credit(ref=b"\xff\xfe")),
    "key_binary": pack(credit(key=bytearray(b"order-1"))),
    "missing_user": pack(credit(user=...)),
    "not_a_map": pack([1, "topup", "order-1"]),
    "empty_map": pack({}),
    "trailing_bytes": pack(credit()) + b"\x00",
    "str32_huge_length": b"\x81\xa3key\xdb\xff\xff\xff\xff",
    "array32_huge_count": b"\x81\xa4legs\xdd\xff\xff\xff\xff",
    "map32_huge_count": b"\xdf\xff\xff\xff\xff",
    "deep_arrays": b"\x81\xa3key\xa1k" + b"\x91" * 10000,
    "deep_maps": b"\x81\xa1x" + b"\x81\xa1x" * 5000 + b"\xc0",
    "legs_17": pack(credit(op="batch", currency=..., amount=...,
                          legs=[{"op": "topup", "currency": "gold",
                                 "amount": 1}] * 17)),
    "truncated": pack(credit())[:40],
}

QUERIES = {
    "balance": pack({"v": 1, "op": "balance", "user": "alice"}),
    "history": pack({"v": 1, "op": "history", "user": "alice",
                     "limit": 20, "before": 33}),
    "history_limit_0": pack({"v": 1, "op": "history", "user": "alice",
                             "limit": 0}),
    "history_limit_huge": pack({"v": 1, "op": "history", "user": "alice",
                                "limit": 2**40}),
    "unknown_op": pack({"v": 1, "op": "drop", "user": "alice"}),
    "version_2": pack({"v": 2, "op": "balance", "user": "alice"}),
    "user_bad": pack({"v": 1, "op": "balance", "user": "a/b"}),
    "not_a_map": pack("balance"),
    "trailing_bytes": pack({"v": 1, "op": "balance", "user": "a"}) + b"\xc1",
    "deep": b"\x91" * 10000,
}


def write(folder, seeds):
    path = os.path.join(HERE, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(path, name), "wb") as out:
            out.write(data)


if __name__ == "__main__":
    write("command", COMMANDS)
    write("query", QUERIES)
