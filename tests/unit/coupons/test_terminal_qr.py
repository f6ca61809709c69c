"""The terminal chat draws a coupon's QR code with block characters, module for module."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from bot.terminal_qr import qr_blocks, qr_modules
from handlers.coupons.qr import qr_png


def _matrix(data: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def test_the_drawing_holds_every_module_of_the_png_the_till_scans() -> None:
    expected = _matrix("K7MQ2XHD")
    assert qr_modules(qr_png("K7MQ2XHD")) == expected
    assert qr_modules(qr_png("K7MQ2XHD", box_size=3)) == expected


def test_two_module_rows_make_one_line_with_light_modules_drawn() -> None:
    drawn = qr_blocks(qr_png("K7MQ2XHD"))
    assert drawn is not None
    lines = drawn.splitlines()
    modules = _matrix("K7MQ2XHD")
    assert len(lines) == (len(modules) + 1) // 2
    assert all(len(line) == len(modules[0]) for line in lines)
    assert set(drawn) <= {"█", "▀", "▄", " ", "\n"}
    assert lines[0] == "█" * len(modules[0])  # the quiet border is light, so drawn


def test_a_picture_that_is_no_qr_code_is_not_drawn() -> None:
    assert qr_blocks(b"not a picture") is None
