"""QR codes as PNG bytes, for a coupon code the till's scanner reads off the phone screen."""

from __future__ import annotations

from io import BytesIO

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pil import PilImage


def qr_png(data: str, *, box_size: int = 10) -> bytes:
    """A PNG of `data` as a QR code, with the quiet border scanners need."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(image_factory=PilImage)
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
