"""Each chart is a valid PNG that reads back, titled in the picture's metadata."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import matplotlib.image
from PIL import Image

from bot.charts import MatplotlibCharts, chart_titles, printable, write_charts
from domain.members.model import Store
from domain.surveys.model import AnswerCount, InvitationCount, SurveyKind
from domain.surveys.services import build_report
from domain.surveys.views import StoreBar

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _report() -> object:
    stores = {1: Store("SH01", "人民广场店", "Asia/Shanghai", 1),
              2: Store("SH02", "Jing'an Temple", "Asia/Shanghai", 2)}
    answers = [
        AnswerCount(1, "2026-05", SurveyKind.CSAT, "purchase", 5, 12),
        AnswerCount(2, "2026-05", SurveyKind.CSAT, "purchase", 2, 3),
        AnswerCount(1, "2026-06", SurveyKind.NPS, "gold", 10, 4),
        AnswerCount(2, "2026-06", SurveyKind.NPS, "gold", 3, 1),
    ]
    invitations = [InvitationCount(1, "2026-05", SurveyKind.CSAT, 40, 12)]
    return build_report(answers, invitations, stores, date(2026, 3, 1), date(2026, 6, 30),
                        "Asia/Shanghai")


def _check_png(data: bytes, title: str) -> None:
    assert data.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == "PNG"
        assert picture.info.get("Title") == title
        width, height = picture.size
    assert width >= 600 and height >= 200
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] == height and pixels.shape[1] == width


def test_each_chart_file_is_a_png_with_its_title(tmp_path: Path) -> None:
    report = _report()
    written = write_charts(report, tmp_path / "charts")
    titles = chart_titles(report)
    assert sorted(p.name for p in written) == sorted(titles)
    for path in written:
        _check_png(path.read_bytes(), titles[path.name])
    assert titles["nps_trend.png"] == "NPS by month, 2026-03-01 to 2026-06-30"


def test_charts_without_answers_still_draw() -> None:
    charts = MatplotlibCharts()
    _check_png(charts.nps_trend([], "NPS by month, nothing"), "NPS by month, nothing")
    _check_png(charts.csat_by_store([], "CSAT by store, nothing"), "CSAT by store, nothing")
    _check_png(charts.distribution({}, "Scores, nothing"), "Scores, nothing")


def test_a_chinese_store_name_never_becomes_empty_boxes() -> None:
    label = printable("SH01 人民广场店")
    assert label in ("SH01 人民广场店", "SH01")  # kept with a CJK font, else the code alone
    png = MatplotlibCharts().csat_by_store([StoreBar("SH01 人民广场店", 87.5, 8)], "CSAT 门店")
    _check_png(png, "CSAT 门店")  # the metadata keeps the title as given
