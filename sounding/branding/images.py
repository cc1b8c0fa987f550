"""Logo uploads: which raster format a file really is, and its size in pixels.

Read from the file's own bytes (magic numbers and headers), never from its name or the type
the browser claims. SVG is refused on purpose: it is a document that can carry script.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

MAX_BYTES = 50 * 1024
# A respondent page weighs about 19.6 KB with its script (uncompressed); under 30 KB in all it
# opens fast on a weak mobile connection, so a logo heavier than this gets a warning (not a
# refusal). tests/test_branding.py holds the page to it.
LIGHT_BYTES = 10 * 1024
MAX_SIDE = 4096

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
CONTENT_TYPES = {ext: kind for kind, ext in EXTENSIONS.items()}


class ImageError(ValueError):
    pass


@dataclass(frozen=True)
class Image:
    content_type: str
    width: int
    height: int
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def _png(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise ImageError("This PNG file is damaged.")
    return struct.unpack(">II", data[16:24])


def _gif(data: bytes) -> tuple[int, int]:
    return struct.unpack("<HH", data[6:10])


def _jpeg(data: bytes) -> tuple[int, int]:
    # Walk the segments to the first start-of-frame, which holds the size.
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise ImageError("This JPEG file is damaged: its size could not be read.")


def _webp(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise ImageError("This WebP file is damaged: its size could not be read.")


def _kind(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or head.startswith(b"<?xml") or b"<svg" in head:
        raise ImageError(
            "SVG logos are not accepted, because SVG can carry script. Export it as PNG."
        )
    raise ImageError("The logo must be a PNG, JPEG, WebP or GIF image.")


_SIZES = {"image/png": _png, "image/jpeg": _jpeg, "image/webp": _webp, "image/gif": _gif}


def read_image(data: bytes) -> Image:
    """The image in `data`, or an ImageError saying what is wrong with it."""
    if len(data) > MAX_BYTES:
        raise ImageError(
            f"The logo is {len(data) // 1024} KB; it can be at most {MAX_BYTES // 1024} KB. "
            "A logo shown 48 pixels high rarely needs more than 10 KB."
        )
    if len(data) < 30:
        raise ImageError("The logo file is empty or cut short.")
    kind = _kind(data)
    try:
        width, height = _SIZES[kind](data)
    except struct.error as error:
        raise ImageError("The logo file is cut short.") from error
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ImageError(f"The logo must be between 1 and {MAX_SIDE} pixels on each side.")
    return Image(kind, width, height, data)
