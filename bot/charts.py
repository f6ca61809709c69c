"""Survey charts as PNG with matplotlib: NPS trend by month, CSAT by store, score distribution.

matplotlib is presentation, so it lives in bot/: domain asks for charts through the
`SurveyCharts` port and gets PNG bytes. Figures are drawn on the Agg canvas without pyplot, so
nothing needs a display and no global figure state is shared between jobs.

Store names may be Chinese. The first CJK font found on the machine (Noto Sans CJK, Source Han
Sans, WenQuanYi, Microsoft YaHei, SimHei, PingFang...) is added as a fallback after DejaVu Sans;
on a machine without any, labels keep their Latin part (the store code) instead of showing
empty boxes.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from domain.surveys.model import SurveyKind

if TYPE_CHECKING:
    from domain.campaigns.model import CampaignReport
    from domain.surveys.services import SurveyReport
    from domain.surveys.views import StoreBar, TrendPoint

log = logging.getLogger(__name__)

CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Heiti SC", "Hiragino Sans GB", "Arial Unicode MS", "Noto Sans CJK JP",
)
BASE_FONT = "DejaVu Sans"
DPI = 100
RED, GREY, GREEN, BLUE = "#d62728", "#9e9e9e", "#2ca02c", "#1f77b4"


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font with Chinese glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        log.info("no CJK font installed: Chinese store names are left out of chart labels")
    return found


def _families() -> list[str]:
    cjk = cjk_font()
    return [BASE_FONT, cjk] if cjk else [BASE_FONT]


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x9FFF  # radicals, punctuation, kana, unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x2FA1F
    )


def printable(text: str) -> str:
    """`text` as the installed fonts can draw it: CJK characters dropped when no font has them."""
    if cjk_font() is not None or not any(_is_cjk(ch) for ch in text):
        return text
    kept = "".join(ch for ch in text if not _is_cjk(ch))
    return " ".join(kept.split()) or "?"


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure, title: str) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # A glyph no font has would be drawn as a box; printable() avoids it, so any warning
        # left is noise.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Title": title})
    return buffer.getvalue()


def _fonts() -> Any:
    """Text drawn inside this block falls back to the CJK font for glyphs DejaVu lacks."""
    return rc_context({"font.family": "sans-serif", "font.sans-serif": _families()})


class MatplotlibCharts:
    """The SurveyCharts port, drawn with matplotlib on the Agg canvas."""

    def nps_trend(self, points: Sequence[TrendPoint], title: str) -> bytes:
        with _fonts():
            return self._nps_trend(points, title)

    def csat_by_store(self, bars: Sequence[StoreBar], title: str) -> bytes:
        with _fonts():
            return self._csat_by_store(bars, title)

    def distribution(self, counts: Mapping[SurveyKind, Mapping[int, int]], title: str) -> bytes:
        with _fonts():
            return self._distribution(counts, title)

    def _nps_trend(self, points: Sequence[TrendPoint], title: str) -> bytes:
        figure = _figure(8, 4.5)
        axes = figure.add_subplot()
        months = [p.month for p in points]
        values = [p.nps for p in points]
        xs = list(range(len(points)))
        axes.axhline(0, color=GREY, linewidth=1)
        axes.axhspan(0, 100, color=GREEN, alpha=0.05)
        axes.axhspan(-100, 0, color=RED, alpha=0.05)
        shown = [(x, v, p.answers) for x, v, p in zip(xs, values, points, strict=True)
                 if v is not None]
        if shown:
            # Gaps stay gaps: a month without answers breaks the line instead of bridging it.
            line = [float("nan") if v is None else v for v in values]
            axes.plot(xs, line, color=BLUE, linewidth=2, marker="o")
            for x, value, answers in shown:
                axes.annotate(
                    f"{value:+.0f}\n(n={answers})", (x, value), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=8,
                )
        else:
            axes.text(0.5, 0.5, "No NPS answers in this period", ha="center", va="center",
                      transform=axes.transAxes, color=GREY)
        axes.set_xticks(xs, months, rotation=45 if len(months) > 8 else 0)
        axes.set_ylim(-100, 110)
        axes.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
        axes.set_ylabel("NPS (% promoters − % detractors)")
        axes.set_xlabel("Month")
        axes.grid(axis="y", alpha=0.3)
        axes.set_title(printable(title))
        return _png(figure, title)

    def _csat_by_store(self, bars: Sequence[StoreBar], title: str) -> bytes:
        rows = [b for b in bars if b.answers > 0] or list(bars)
        figure = _figure(8, max(2.5, 0.45 * len(rows) + 1.5))
        axes = figure.add_subplot()
        labels = [f"{printable(b.store)} (n={b.answers})" for b in rows]
        values = [b.csat_percent or 0.0 for b in rows]
        ys = list(range(len(rows)))
        colours = [
            GREY if b.csat_percent is None else GREEN if b.csat_percent >= 80
            else BLUE if b.csat_percent >= 60 else RED
            for b in rows
        ]
        axes.barh(ys, values, color=colours)
        for y, bar in zip(ys, rows, strict=True):
            text = "—" if bar.csat_percent is None else f"{bar.csat_percent:.1f} %"
            axes.text(min((bar.csat_percent or 0) + 1, 90), y, text, va="center", fontsize=9)
        axes.set_yticks(ys, labels)
        axes.invert_yaxis()  # first store on top
        axes.set_xlim(0, 100)
        axes.set_xlabel("CSAT: share of answers scoring 4 or 5 (%)")
        axes.grid(axis="x", alpha=0.3)
        if not rows:
            axes.text(0.5, 0.5, "No CSAT answers in this period", ha="center", va="center",
                      transform=axes.transAxes, color=GREY)
        axes.set_title(printable(title))
        return _png(figure, title)

    def _distribution(self, counts: Mapping[SurveyKind, Mapping[int, int]], title: str) -> bytes:
        figure = _figure(10, 4)
        left, right = figure.subplots(1, 2, width_ratios=[5, 11])
        for axes, kind in ((left, SurveyKind.CSAT), (right, SurveyKind.NPS)):
            scale = list(kind.scale)
            values = [counts.get(kind, {}).get(score, 0) for score in scale]
            colours = [_score_colour(kind, score) for score in scale]
            axes.bar(scale, values, color=colours)
            axes.set_xticks(scale)
            axes.set_xlabel("Score (1-5)" if kind is SurveyKind.CSAT else "Score (0-10)")
            axes.set_ylabel("Answers")
            total = sum(values)
            axes.set_ylim(0, max(max(values, default=0), 1) * 1.3)  # room for the legend
            axes.set_title(f"{kind.value.upper()} (n={total})")
            axes.grid(axis="y", alpha=0.3)
            names = (
                ("dissatisfied (1-2)", "neutral (3)", "satisfied (4-5)")
                if kind is SurveyKind.CSAT
                else ("detractors (0-6)", "passives (7-8)", "promoters (9-10)")
            )
            axes.legend(
                handles=[Patch(color=c, label=n) for c, n in zip((RED, GREY, GREEN), names,
                                                                 strict=True)],
                fontsize=8, loc="upper left",
            )
        figure.suptitle(printable(title))
        return _png(figure, title)


def _score_colour(kind: SurveyKind, score: int) -> str:
    if kind is SurveyKind.CSAT:
        return RED if score <= 2 else GREEN if score >= 4 else GREY
    return RED if score <= 6 else GREEN if score >= 9 else GREY


def chart_titles(report: SurveyReport) -> dict[str, str]:
    """File name -> title of the report's three charts."""
    period = f"{report.day_from} to {report.day_to}"
    where = f", store {report.store_code}" if report.store_code else ""
    return {
        "nps_trend.png": f"NPS by month, {period}{where}",
        "csat_by_store.png": f"CSAT by store, {period}{where}",
        "score_distribution.png": f"Score distribution, {period}{where}",
    }


def write_pngs(directory: Path, pictures: Mapping[str, bytes]) -> list[Path]:
    """File name -> PNG written into `directory` (made if missing); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png in pictures.items():
        path = directory / name
        path.write_bytes(png)
        written.append(path)
    return written


def write_charts(report: SurveyReport, directory: Path) -> list[Path]:
    """The report's three charts as PNG files in `directory` (made if missing)."""
    charts = MatplotlibCharts()
    titles = chart_titles(report)
    pictures = {
        "nps_trend.png": charts.nps_trend(report.trend(), titles["nps_trend.png"]),
        "csat_by_store.png": charts.csat_by_store(
            report.store_bars(), titles["csat_by_store.png"]
        ),
        "score_distribution.png": charts.distribution(
            report.distribution, titles["score_distribution.png"]
        ),
    }
    return write_pngs(directory, pictures)


def write_campaign_chart(report: CampaignReport, directory: Path) -> Path:
    """A campaign's treated and control groups side by side: purchase rate and revenue per
    member within the attribution window, as `campaign_<id>.png` in `directory`."""
    title = printable(f"Campaign {report.campaign.id}: {report.campaign.name}")
    groups = (("treated", report.treated), ("control", report.control))
    with _fonts():
        figure = _figure(7.0, 3.2)
        rate, revenue = figure.subplots(1, 2)
        names = [name for name, _g in groups]
        rates = [100 * g.buyers / g.members if g.members else 0.0 for _n, g in groups]
        per = [float(g.revenue) / g.members if g.members else 0.0 for _n, g in groups]
        rate.bar(names, rates, color=["#2a9d8f", "#adb5bd"])
        rate.set_ylabel(f"bought within {report.attribution_days} days (%)")
        revenue.bar(names, per, color=["#2a9d8f", "#adb5bd"])
        revenue.set_ylabel("revenue per member")
        figure.suptitle(title)
        png = _png(figure, title)
    return write_pngs(directory, {f"campaign_{report.campaign.id}.png": png})[0]


def write_callback_chart(
    outcomes_by_rule: Mapping[str, Mapping[str, int]], title: str, directory: Path
) -> Path:
    """Callbacks' outcomes per rule as stacked bars, as `callbacks_outcomes.png` in
    `directory` (see `retailbot report callbacks --png`)."""
    rules = sorted(outcomes_by_rule)
    outcomes = sorted({o for counts in outcomes_by_rule.values() for o in counts})
    with _fonts():
        figure = _figure(8, 4.5)
        axes = figure.add_subplot()
        bottoms = [0] * len(rules)
        for outcome in outcomes:
            heights = [outcomes_by_rule[r].get(outcome, 0) for r in rules]
            axes.bar(rules, heights, bottom=bottoms, label=outcome)
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        if not rules:
            axes.text(0.5, 0.5, "No callbacks in this period", ha="center", va="center",
                      transform=axes.transAxes, color=GREY)
        else:
            axes.legend(fontsize=8)
        axes.set_ylabel("callbacks")
        figure.suptitle(printable(title))
        png = _png(figure, printable(title))
    return write_pngs(directory, {"callbacks_outcomes.png": png})[0]
