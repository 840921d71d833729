"""Charts drawn on the server as SVG: no JavaScript, no CDN, readable on a phone.

Each chart is a complete `<svg>` element (well-formed XML) whose bars are `<rect>`s with the
class `bar` (and `bar-a` / `bar-b` for the two series of a paired chart), each carrying a
`<title>` with its label and number, which browsers show on hover or long press. Colours are
in static/css/reports.css (classes only: no inline style). Labels arrive translated; every
text is XML-escaped here.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ROW = 22  # height of one horizontal bar's row
BAR_WIDTH = 190


def _label_width(labels) -> int:
    """Room for the longest label at 11 px (a Chinese character counts twice)."""
    longest = max(
        (sum(2 if ord(ch) > 0x2E7F else 1 for ch in label) for label in labels), default=0
    )
    return min(max(60, round(longest * 6.2) + 10), 300)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class Chart(SafeString):
    """An SVG chart (safe markup) that also knows its title, for a caption."""

    title: str = ""


def _svg(width: int, height: int, title: str, body: list[str]) -> Chart:
    chart = Chart(
        mark_safe(  # noqa: S308 - every text in `body` and `title` is escaped here
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
            f' role="img" width="100%" preserveAspectRatio="xMinYMin meet">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>"
        )
    )
    chart.title = title
    return chart


def bar_chart(items: list[tuple[str, float]], *, title: str, unit: str = "") -> Chart:
    """Horizontal bars, one per (label, value), longest scaled to the chart's width."""
    top = max((v for _label, v in items), default=0) or 1
    label_width = _label_width(label for label, _v in items)
    body = []
    for i, (label, value) in enumerate(items):
        y = i * ROW
        length = round(BAR_WIDTH * value / top, 1)
        text = f"{label}: {_fmt(value)}{unit}"
        body.append(
            f'<text class="label" x="{label_width - 6}" y="{y + 15}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{length}" height="{ROW - 6}">'
            f"<title>{escape(text)}</title></rect>"
            f'<text class="value" x="{label_width + length + 4}" y="{y + 15}">'
            f"{escape(_fmt(value))}</text>"
        )
    return _svg(label_width + BAR_WIDTH + 50, max(len(items), 1) * ROW, title, body)


def paired_chart(
    items: list[tuple[str, int, int]],
    *,
    title: str,
    legend: tuple[str, str],
    every: int = 1,
) -> Chart:
    """Vertical pairs of bars (series a behind, series b in front: received vs answered),
    one pair per label; every `every`-th label is written under the axis."""
    n = max(len(items), 1)
    slot = max(min(24, 700 // n), 6)
    width = slot * n + 40
    height, base = 180, 150
    top = max((a for _label, a, _b in items), default=0) or 1
    body = [
        f'<line class="axis" x1="30" y1="{base}" x2="{width}" y2="{base}"/>',
        f'<text class="value" x="0" y="12">{escape(_fmt(top))}</text>',
    ]
    for i, (label, a, b) in enumerate(items):
        x = 32 + i * slot
        for cls, value, name, inset in (("bar-a", a, legend[0], 0), ("bar-b", b, legend[1], 2)):
            h = round((base - 16) * value / top, 1)
            body.append(
                f'<rect class="bar {cls}" x="{x + inset}" y="{base - h}" '
                f'width="{max(slot - 2 - 2 * inset, 1)}" height="{h}">'
                f"<title>{escape(f'{label} · {name}: {value}')}</title></rect>"
            )
        if i % every == 0:
            body.append(
                f'<text class="tick" x="{x + slot / 2}" y="{base + 14}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    body.append(
        f'<rect class="bar-a" x="32" y="{height - 12}" width="10" height="10"/>'
        f'<text class="legend" x="46" y="{height - 3}">{escape(legend[0])}</text>'
        f'<rect class="bar-b" x="{32 + 120}" y="{height - 12}" width="10" height="10"/>'
        f'<text class="legend" x="{46 + 120}" y="{height - 3}">{escape(legend[1])}</text>'
    )
    return _svg(width, height, title, body)
