"""The stored size of an image from the first bytes of its file: what label exports
and imports need per image, without decoding it."""

from __future__ import annotations

import os


def header_size(path: str) -> tuple[int, int]:
    """(width, height) of an image as ``PIL.Image.open(path).size`` gives it (the
    stored size, before any EXIF rotation), read from the first bytes of a PNG, GIF,
    BMP or JPEG file (~10x faster than Pillow's open), else by Pillow."""
    # os calls, not a file object: three system calls per image, not six.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        head = os.read(fd, 32)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
        if head[:2] == b"\xff\xd8":
            got = _jpeg_size(head + read_all(fd, 1 << 16))
            if got is not None:
                return got
    finally:
        os.close(fd)
    from PIL import Image

    with Image.open(path) as im:
        return im.size


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _SOF:
            h, w = (
                int.from_bytes(data[i + 5 : i + 7], "big"),
                int.from_bytes(data[i + 7 : i + 9], "big"),
            )
            return (w, h) if w and h else None
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def read_all(fd: int, limit: int = -1) -> bytes:
    """The bytes of an open file from where it stands to its end (at most ``limit``)."""
    parts = []
    left = limit if limit >= 0 else 1 << 62
    while left > 0:
        got = os.read(fd, min(left, 1 << 16))
        if not got:
            break
        parts.append(got)
        left -= len(got)
    return b"".join(parts)


def read_file(path: str) -> bytes:
    """A small file's bytes: open, read to the end, close (four system calls where a
    file object takes seven)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        return read_all(fd)
    finally:
        os.close(fd)
