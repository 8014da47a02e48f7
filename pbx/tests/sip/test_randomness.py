"""Tokens for tags, branches and nonces: random bytes from the system, served from blocks."""

from __future__ import annotations

import pytest
from pbxd.sip import randomness


def test_tokens_are_hex_of_the_length_asked_and_never_repeat_across_blocks() -> None:
    count = 3 * randomness.BLOCK_SIZE // 5  # three blocks' worth of 5-byte tags
    tokens = [randomness.token_hex(5) for _ in range(count)]
    assert all(len(token) == 10 and int(token, 16) >= 0 for token in tokens)
    assert len(set(tokens)) == count


def test_the_bytes_come_from_the_systems_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []

    def urandom(size: int) -> bytes:
        drawn.append(size)
        return bytes(range(256)) * (size // 256 + 1)

    monkeypatch.setattr(randomness.os, "urandom", urandom)
    monkeypatch.setattr(randomness, "_BLOCK", randomness._Block())
    assert randomness.token_hex(4) == "00010203"
    assert randomness.token_hex(2) == "0405"
    assert drawn == [randomness.BLOCK_SIZE]  # one system call serves many tokens
    assert len(randomness.token_hex(2 * randomness.BLOCK_SIZE)) == 4 * randomness.BLOCK_SIZE
