"""Plots as inline SVG, drawn on the server: no script, no chart library, nothing fetched.

Times are UTC (ISO strings with an offset, or datetimes). Every label goes through html.escape.
"""
from __future__ import annotations

from datetime import datetime, timezone
from html import escape

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
GAP = "#d62728"
EPOCH_SHADES = ["#2ca02c", "#98c379"]  # binlogs of successive epochs
W, H, LEFT, RIGHT, TOP, BOTTOM = 760, 220, 64, 16, 24, 36


def _t(value) -> float:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _label(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) * (b - a) / span


def _frame(title: str, x0: float, x1: float, y_max: float | None, y_label: str) -> list[str]:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'class="plot"><title>{escape(title)}</title>',
           f'<text x="{LEFT}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#888"/>',
           f'<text x="{LEFT}" y="{H - 8}" font-size="10">{escape(_label(x0))} UTC</text>',
           f'<text x="{W - RIGHT}" y="{H - 8}" font-size="10" text-anchor="end">{escape(_label(x1))} UTC</text>']
    if y_max is not None:
        y = _scale(0, y_max, H - BOTTOM, TOP)
        out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#888"/>')
        for k in range(5):
            v = y_max * k / 4
            out.append(f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">{v:,.3g}</text>')
            out.append(f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{W - RIGHT}" y2="{y(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="12" y="{TOP + (H - TOP - BOTTOM) / 2}" font-size="10" '
                   f'transform="rotate(-90 12 {TOP + (H - TOP - BOTTOM) / 2})" text-anchor="middle">'
                   f'{escape(y_label)}</text>')
    return out


def line_chart(title: str, series: dict[str, list[tuple]], y_label: str) -> str:
    """One line with points per series: {label: [(time, value), ...]}. Empty series are left out."""
    series = {label: pts for label, pts in series.items() if any(v is not None for _, v in pts)}
    points = [(_t(t), float(v)) for pts in series.values() for t, v in pts if v is not None]
    if not points:
        return ""
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    if x0 == x1:
        x0, x1 = x0 - 3600, x1 + 3600
    y_max = max(p[1] for p in points) * 1.1 or 1.0
    x, y = _scale(x0, x1, LEFT + 6, W - RIGHT - 6), _scale(0, y_max, H - BOTTOM, TOP)
    out = _frame(title, x0, x1, y_max, y_label)
    for n, (label, pts) in enumerate(series.items()):
        color = COLORS[n % len(COLORS)]
        coords = [(x(_t(t)), y(float(v))) for t, v in sorted(pts, key=lambda p: _t(p[0])) if v is not None]
        if len(coords) > 1:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="'
                       + " ".join(f"{a:.1f},{b:.1f}" for a, b in coords) + '"/>')
        for (a, b), (t, v) in zip(coords, sorted(pts, key=lambda p: _t(p[0]))):
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{color}"><title>{escape(label)}: '
                       f'{v:,.3f} at {escape(_label(_t(t)))} UTC</title></circle>')
        out.append(f'<text x="{W - RIGHT}" y="{TOP + 12 * n}" font-size="10" fill="{color}" text-anchor="end">'
                   f'{escape(label[:80])}</text>')
    out.append("</svg>")
    return "".join(out)


def chain_timeline(title: str, fulls: list[dict], binlogs: list[dict], gaps: list[dict],
                   epochs: list[dict] = ()) -> str:
    """The binlog chain of one server over time: shipped binlogs in green (alternating shades
    per epoch), gaps in red, each numbering reset as a dashed line where its epoch's first file
    begins, full backups as ticks. A gap with an unknown end is drawn to the last known moment."""
    moments = [_t(f["consistent_at"]) for f in fulls]
    moments += [_t(b[k]) for b in binlogs for k in ("first_event_at", "last_event_at")]
    if not moments:
        return ""
    x0, x1 = min(moments), max(moments)
    if x0 == x1:
        x0, x1 = x0 - 3600, x1 + 3600
    x = _scale(x0, x1, LEFT + 6, W - RIGHT - 6)
    out = _frame(title, x0, x1, None, "")
    lane_b, lane_f = TOP + 40, TOP + 110
    out.append(f'<text x="{LEFT - 4}" y="{lane_b + 14}" font-size="10" text-anchor="end">binlogs</text>')
    out.append(f'<text x="{LEFT - 4}" y="{lane_f + 4}" font-size="10" text-anchor="end">full</text>')
    shade = {e["epoch"]: EPOCH_SHADES[n % len(EPOCH_SHADES)] for n, e in enumerate(epochs)}
    for b in binlogs:
        a, c = x(_t(b["first_event_at"])), x(_t(b["last_event_at"]))
        epoch = b.get("epoch")
        out.append(f'<rect x="{a:.1f}" y="{lane_b}" width="{max(c - a, 2):.1f}" height="20" '
                   f'fill="{shade.get(epoch, EPOCH_SHADES[0])}" stroke="#fff"><title>{escape(b["name"])}'
                   f'{f" (epoch {escape(epoch)})" if epoch else ""}: {escape(b["first_event_at"])} to '
                   f'{escape(b["last_event_at"])}</title></rect>')
    for e in epochs:
        if not e.get("follows") or not e.get("from"):
            continue
        a = x(_t(e["from"]))
        out.append(f'<line class="reset" x1="{a:.1f}" y1="{TOP + 14}" x2="{a:.1f}" y2="{H - BOTTOM}" stroke="#555" '
                   f'stroke-dasharray="4 3"><title>binlog numbering reset: epoch {escape(e["epoch"])} follows '
                   f'{escape(e["follows"])}</title></line>')
        left = a > (LEFT + W - RIGHT) / 2  # the label on the side with room
        out.append(f'<text x="{a - 3 if left else a + 3:.1f}" y="{lane_f + 28}" font-size="10" fill="#555" '
                   f'text-anchor="{"end" if left else "start"}">numbering reset: epoch {escape(e["epoch"])}</text>')
    for g in gaps:
        a = x(_t(g["from"])) if g["from"] else LEFT + 6
        c = x(_t(g["until"])) if g["until"] else W - RIGHT - 6
        files = ", ".join(g["files"])
        out.append(f'<rect class="gap" x="{a:.1f}" y="{lane_b - 6}" width="{max(c - a, 4):.1f}" height="32" '
                   f'fill="{GAP}" opacity="0.85"><title>gap: {escape(files)} missing</title></rect>')
        out.append(f'<text x="{a:.1f}" y="{lane_b - 10}" font-size="10" fill="{GAP}">missing {escape(files)}'
                   '</text>')
    for f in fulls:
        a = x(_t(f["consistent_at"]))
        out.append(f'<line x1="{a:.1f}" y1="{lane_f - 12}" x2="{a:.1f}" y2="{lane_f + 12}" stroke="#1f77b4" '
                   f'stroke-width="3"><title>full backup {escape(f["backup_id"])} ({escape(f["database"])})'
                   '</title></line>')
    out.append("</svg>")
    return "".join(out)
