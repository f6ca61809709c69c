"""Segment charts as PNG with matplotlib: members per segment, and the R-by-F grid.

Drawn the way bot/charts.py draws the survey charts (the Agg canvas without pyplot, the CJK
font fallback for Chinese segment names, the title in the PNG's metadata), with its helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.charts import BLUE, _figure, _fonts, _png, printable, write_pngs


def segment_sizes_png(sizes: Sequence[tuple[str, int]], title: str) -> bytes:
    """A horizontal bar per segment (its name and member count), the largest on top."""
    with _fonts():
        figure = _figure(8, max(3.0, 0.45 * len(sizes) + 1.2))
        axes = figure.add_subplot()
        ordered = sorted(sizes, key=lambda item: item[1])
        names = [printable(name) for name, _ in ordered]
        counts = [count for _, count in ordered]
        bars = axes.barh(range(len(ordered)), counts, color=BLUE)
        axes.set_yticks(range(len(ordered)), names)
        axes.bar_label(bars, labels=[f"{c:,}" for c in counts], padding=3)
        axes.set_xlabel("members")
        axes.set_title(title)
        axes.spines[["top", "right"]].set_visible(False)
        return _png(figure, title)


def rf_grid_png(grid: Mapping[tuple[int, int], int], title: str) -> bytes:
    """Members per R (rows, 5 on top) and F (columns) score, as a shaded 5×5 grid."""
    with _fonts():
        figure = _figure(6, 5)
        axes = figure.add_subplot()
        cells = [[grid.get((r, f), 0) for f in range(1, 6)] for r in range(5, 0, -1)]
        image = axes.imshow(cells, cmap="Blues", aspect="auto")
        top = max((max(row) for row in cells), default=0)
        for i, row in enumerate(cells):
            for j, count in enumerate(row):
                colour = "white" if top and count > top / 2 else "black"
                axes.text(j, i, f"{count:,}", ha="center", va="center", color=colour)
        axes.set_xticks(range(5), [str(f) for f in range(1, 6)])
        axes.set_yticks(range(5), [str(r) for r in range(5, 0, -1)])
        axes.set_xlabel("F (frequency score)")
        axes.set_ylabel("R (recency score)")
        axes.set_title(title)
        figure.colorbar(image, ax=axes, label="members")
        return _png(figure, title)


def write_segment_charts(
    sizes: Sequence[tuple[str, int]], grid: Mapping[tuple[int, int], int], directory: Path,
    when: str,
) -> list[Path]:
    """Both charts as PNG files in `directory` (made if missing)."""
    return write_pngs(directory, {
        "segment_sizes.png": segment_sizes_png(sizes, f"Members per segment, {when}"),
        "rf_grid.png": rf_grid_png(grid, f"Members by R and F score, {when}"),
    })
