"""A coupon's QR code drawn in the terminal with block characters, so a till can scan it there.

Telegram gets the PNG; the terminal chat draws the same PNG's modules as text.
"""

from __future__ import annotations

from io import BytesIO

from PIL import Image, UnidentifiedImageError

FINDER_MODULES = 7  # the finder pattern in a QR code's corner is 7 modules wide


def qr_modules(png: bytes) -> list[list[bool]] | None:
    """The modules of a QR code PNG (True = dark), quiet border included; None if it is none.

    The size of a module is read off the top-left finder pattern.
    """
    try:
        image = Image.open(BytesIO(png)).convert("L")
    except (UnidentifiedImageError, OSError):
        return None
    width, height = image.size
    pixels = image.load()
    if pixels is None:
        return None

    def dark(x: int, y: int) -> bool:
        value = pixels[x, y]
        return isinstance(value, int) and value < 128

    first = next(((x, y) for y in range(height) for x in range(width) if dark(x, y)), None)
    if first is None:
        return None
    x0, y0 = first
    run = 0
    while x0 + run < width and dark(x0 + run, y0):
        run += 1
    box = run // FINDER_MODULES
    if box < 1 or run % FINDER_MODULES or width % box or height % box:
        return None
    return [
        [dark(col * box + box // 2, row * box + box // 2) for col in range(width // box)]
        for row in range(height // box)
    ]


def qr_blocks(png: bytes) -> str | None:
    """A QR code PNG drawn with block characters, two module rows per line of text.

    Light modules are drawn as blocks, as `qrencode -t UTF8` does: on the dark background of
    most terminals the code then shows dark on light, the way scanners read it. The PNG's quiet
    border is kept: scanners need it. None when the picture is no QR code.
    """
    modules = qr_modules(png)
    if modules is None:
        return None
    if len(modules) % 2:
        modules.append([False] * len(modules[0]))
    glyphs = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    lines = [
        "".join(glyphs[(not top, not bottom)] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(modules[::2], modules[1::2], strict=True)
    ]
    return "\n".join(lines) + "\n"
