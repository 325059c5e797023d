"""Length-prefixed frames: how requests and replies cross a pipe.

A frame is a 4-byte big-endian length, then that many bytes. A reply frame's
first :data:`TOKEN_BYTES` bytes are the token of the request it answers, so a
supervisor can match replies to requests without parsing what the student's
process wrote. Readers take a size limit and a deadline: a frame larger than
allowed, or slower than the deadline, is an error, never a wait or an allocation.
"""

from __future__ import annotations

import os
import select
import struct
import time

__all__ = ["TOKEN_BYTES", "FrameError", "read_frame", "write_frame"]

TOKEN_BYTES = 32
_HEADER = struct.Struct(">I")


class FrameError(Exception):
    """A frame that is too large, cut short, or late."""


def write_frame(fd: int, payload: bytes) -> None:
    """Write one frame (blocking until all of it is written)."""
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _read_exactly(fd: int, count: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    remaining = count
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FrameError("timed out")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise FrameError("timed out")
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise FrameError("the writer closed the pipe" if chunks or count == 4 else "cut short")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, limit: int, deadline: float | None = None) -> bytes:
    """Read one frame of at most ``limit`` bytes before ``deadline`` (``time.monotonic``)."""
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
    if size > limit:
        raise FrameError(f"a frame of {size} bytes is larger than the limit of {limit}")
    return _read_exactly(fd, size, deadline)
