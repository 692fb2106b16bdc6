"""The wire protocol between the grader and a submission's child process.

This module is the only part of the grader that the child imports, so it
imports nothing but the standard library.

A frame is:  b"GRD1" | header length (u32, big-endian) | payload length (u64)
             | header: UTF-8 JSON object | payload: raw bytes

Arrays travel as metadata in the header, {"t": "array", "dtype": "<f8",
"shape": [2, 3], "scalar": false, "off": 0, "n": 48}, pointing into the
payload. Nothing is ever pickled. The reader enforces size caps before it
allocates anything, and the grader validates every header field it uses.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time

MAGIC = b"GRD1"
_PREFIX = struct.Struct(">4sIQ")
MAX_HEADER = 1 << 20


class WireError(Exception):
    """A frame that is malformed, too large, late, or never arrives."""


class WireTimeout(WireError):
    pass


class WireClosed(WireError):
    pass


def encode_frame(header: dict, payload: bytes | bytearray | memoryview = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    return _PREFIX.pack(MAGIC, len(head), len(payload)) + head + bytes(payload)


def write_frame(fd: int, header: dict, payload: bytes | bytearray | memoryview = b"") -> None:
    data = memoryview(encode_frame(header, payload))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks = []
    remaining = size
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WireTimeout("no answer in time")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise WireTimeout("no answer in time")
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise WireClosed("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, *, deadline: float | None = None, max_payload: int = 1 << 28) -> tuple[dict, bytes]:
    """Read one frame; `deadline` is a time.monotonic() value or None."""
    magic, head_len, payload_len = _PREFIX.unpack(_read_exactly(fd, _PREFIX.size, deadline))
    if magic != MAGIC:
        raise WireError("bad frame magic")
    if head_len > MAX_HEADER or payload_len > max_payload:
        raise WireError(f"frame too large ({head_len} + {payload_len} bytes)")
    try:
        header = json.loads(_read_exactly(fd, head_len, deadline))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"bad frame header: {exc}") from None
    if not isinstance(header, dict):
        raise WireError("frame header is not an object")
    return header, _read_exactly(fd, payload_len, deadline)


def pending(fd: int) -> bool:
    """True when unread bytes wait on `fd` (a forged or stray frame)."""
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)
