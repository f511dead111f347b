"""The artifact report: one self-contained HTML page (and the same numbers as JSON) from tags.

Input is an Arrow table of ``artifact_tags`` rows, optionally joined with the translation texts
(``source_text``, ``text``), e.g. from the store::

    SELECT g.*, t.source_text, t.text
    FROM artifact_tags g JOIN translations t ON g.translation_id = t.id

:func:`summarize` reduces it to a JSON-ready dict: flag rates per detector and language pair,
score histograms with the thresholds, the worst examples per detector. :func:`render_html` turns
that dict into one page with inline CSS and SVG only (no scripts, fonts or images from anywhere),
where rates link to their detector's section and every example links to the other detectors
that flagged the same translation. Every number shown is also in ``data-*`` attributes, so
tests (and people) can check them against SQL counts.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from curate.artifacts.registry import detector_names, get_detector

REQUIRED = ("translation_id", "src_lang", "tgt_lang", "detector", "score", "flag", "threshold")


def _direction(name: str) -> str:
    return get_detector(name).direction if name in detector_names() else "high"


def _badness(scores: np.ndarray, direction: str) -> np.ndarray:
    if direction == "low":
        return -scores
    if direction == "both":
        return np.abs(scores)
    return scores


def _histogram(scores: np.ndarray, thresholds: list[float], direction: str, bins: int) -> dict:
    """Counts over the central 99% of the scores (the rest clipped into the end bins); the
    range always includes the thresholds. Scores with few distinct values keep their range."""
    values = scores[~np.isnan(scores)]
    marks = list(thresholds) + ([-t for t in thresholds] if direction == "both" else [])
    if len(values) == 0:
        return {"edges": [], "counts": [], "thresholds": marks}
    if len(values) > 200 and len(np.unique(values[:5000])) > 10:
        lo, hi = np.quantile(values, [0.005, 0.995])
    else:
        lo, hi = values.min(), values.max()
    lo, hi = float(min([lo, *marks])), float(max([hi, *marks]))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    counts, _ = np.histogram(np.clip(values, lo, hi), bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "thresholds": marks}


def summarize(
    table: pa.Table | pl.DataFrame,
    *,
    examples: int = 5,
    bins: int = 30,
    title: str = "Translation artifacts",
) -> dict[str, Any]:
    """The report's numbers from ``artifact_tags`` rows (plus texts when present).

    ``examples``: flagged rows shown per detector, worst score first. ``bins``: histogram bins.
    """
    frame = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"report needs artifact_tags columns; missing {missing}")
    frame = frame.with_columns(
        pl.concat_str("src_lang", pl.lit("-"), "tgt_lang").alias("pair"),
        pl.col("score").cast(pl.Float64).fill_nan(None),
    )
    for column in ("detail", "source_text", "text", "detector_version", "dataset", "system"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    frame = frame.with_columns(pl.col("system").fill_null("-"))
    pairs = sorted(frame["pair"].unique().to_list())
    systems = sorted(frame["system"].unique().to_list())
    flagged_ids = (
        frame.filter(pl.col("flag"))
        .group_by("translation_id")
        .agg(pl.col("detector").unique().sort().alias("detectors"))
    )
    flags_of = dict(
        zip(flagged_ids["translation_id"], flagged_ids["detectors"].to_list(), strict=True)
    )
    translations = frame.select("translation_id", "pair", "system").unique("translation_id")
    any_by_pair = translations.with_columns(
        pl.col("translation_id").is_in(flagged_ids["translation_id"].implode()).alias("flagged")
    )
    summary: dict[str, Any] = {
        "title": title,
        "n_rows": frame.height,
        "n_translations": translations.height,
        "pairs": pairs,
        "any_flag": {
            "flagged": int(any_by_pair["flagged"].sum()),
            "by_pair": [
                {"pair": p, "n": int(g.height), "flagged": int(g["flagged"].sum())}
                for p in pairs
                for g in [any_by_pair.filter(pl.col("pair") == p)]
            ],
            "by_system": [
                {"system": k, "n": int(g.height), "flagged": int(g["flagged"].sum())}
                for k in systems
                for g in [any_by_pair.filter(pl.col("system") == k)]
            ],
        },
        "systems": systems,
        "detectors": [],
    }
    order = {name: i for i, name in enumerate(detector_names())}
    names = sorted(frame["detector"].unique().to_list(), key=lambda d: (order.get(d, 999), d))
    for name in names:
        rows = frame.filter(pl.col("detector") == name)
        direction = _direction(name)
        by_pair, by_system = (
            rows.group_by(key)
            .agg(
                pl.len().alias("n"),
                pl.col("flag").sum().alias("flagged"),
                pl.col("score").is_not_null().sum().alias("scored"),
                pl.col("threshold").drop_nulls().unique().sort().alias("thresholds"),
            )
            .sort(key)
            for key in ("pair", "system")
        )
        scores = rows["score"].to_numpy().astype(np.float64)
        thresholds = sorted({t for ts in by_pair["thresholds"].to_list() for t in ts})
        ranked = rows.with_columns(
            pl.Series("bad", _badness(np.nan_to_num(scores, nan=-np.inf), direction))
        ).sort(["flag", "bad"], descending=True, nulls_last=True)
        worst = []
        for r in ranked.filter(pl.col("flag")).head(examples).iter_rows(named=True):
            worst.append(
                {
                    "translation_id": r["translation_id"],
                    "pair": r["pair"],
                    "system": r["system"],
                    "dataset": r["dataset"],
                    "score": r["score"],
                    "flag": bool(r["flag"]),
                    "threshold": r["threshold"],
                    "detail": r["detail"],
                    "source_text": r["source_text"],
                    "text": r["text"],
                    "other_flags": [d for d in flags_of.get(r["translation_id"], []) if d != name],
                }
            )
        versions = sorted({v for v in rows["detector_version"].to_list() if v is not None})
        summary["detectors"].append(
            {
                "name": name,
                "version": ", ".join(versions),
                "direction": direction,
                "description": get_detector(name).description if name in order else "",
                "n": rows.height,
                "scored": int(rows["score"].is_not_null().sum()),
                "flagged": int(rows["flag"].sum()),
                "thresholds": thresholds,
                "by_pair": [
                    {
                        "pair": r["pair"],
                        "n": int(r["n"]),
                        "scored": int(r["scored"]),
                        "flagged": int(r["flagged"]),
                        "thresholds": r["thresholds"],
                    }
                    for r in by_pair.iter_rows(named=True)
                ],
                "by_system": [
                    {
                        "system": r["system"],
                        "n": int(r["n"]),
                        "scored": int(r["scored"]),
                        "flagged": int(r["flagged"]),
                    }
                    for r in by_system.iter_rows(named=True)
                ],
                "histogram": _histogram(scores, thresholds, direction, bins),
                "worst": worst,
            }
        )
    return summary


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2329;
background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
h3{font-size:16px;margin:0 0 6px}
section.det{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px;margin:16px 0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e5e8ec;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.hot{background:#fde2e1}td.warm{background:#fff1d6}
a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}
.muted{color:#68717a}.tag{display:inline-block;background:#eef1f4;border-radius:4px;padding:0 6px;
margin:0 4px 2px 0;font-size:12px}.flag{color:#b3261e;font-weight:600}
.text{white-space:pre-wrap;word-break:break-word;max-width:420px}
svg text{font-size:11px;fill:#45505a}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _pct(flagged: int, n: int) -> str:
    return f"{100.0 * flagged / n:.1f}%" if n else "-"


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}"


def _rate_cell(
    name: str,
    pair: str,
    flagged: int,
    n: int,
    link: str,
    scored: int | None = None,
    key: str = "pair",
) -> str:
    """A flag rate (``key``: the column it is for, ``pair`` or ``system``); ``-`` where the
    detector scored none of the rows (it could not judge them)."""
    if scored == 0:
        return (
            f'<td class="num muted" data-detector="{_e(name)}" data-{key}="{_e(pair)}" '
            f'data-flagged="{flagged}" data-n="{n}" data-scored="0" '
            f'title="not scored: the detector could not judge these rows">-</td>'
        )
    rate = flagged / n if n else 0.0
    cls = "num hot" if rate >= 0.05 else "num warm" if rate >= 0.01 else "num"
    return (
        f'<td class="{cls}" data-detector="{_e(name)}" data-{key}="{_e(pair)}" '
        f'data-flagged="{flagged}" data-n="{n}"><a href="{link}">{flagged} / {n}</a> '
        f'<span class="muted">{_pct(flagged, n)}</span></td>'
    )


def _svg_histogram(hist: dict[str, Any], direction: str) -> str:
    edges, counts = hist["edges"], hist["counts"]
    if not counts:
        return '<p class="muted">no scores</p>'
    width, height, pad = 640, 160, 28
    lo, hi = edges[0], edges[-1]
    top = max(counts) or 1
    bar_w = (width - 2 * pad) / len(counts)
    parts = [
        f'<svg width="{width}" height="{height + 30}" viewBox="0 0 {width} {height + 30}" '
        f'role="img" aria-label="score histogram">'
    ]
    for i, c in enumerate(counts):
        h = (height - pad) * math.sqrt(c / top)  # square-root scale: single rows stay visible
        x = pad + i * bar_w
        parts.append(
            f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="#7aa7d6" data-count="{c}">'
            f"<title>[{edges[i]:.3g}, {edges[i + 1]:.3g}): {c}</title></rect>"
        )
    parts.append(
        f'<line x1="{pad}" y1="{height}" x2="{width - pad}" y2="{height}" stroke="#45505a"/>'
    )
    for t in hist["thresholds"]:
        if hi > lo:
            x = pad + (t - lo) / (hi - lo) * (width - 2 * pad)
            parts.append(
                f'<line x1="{x:.1f}" y1="8" x2="{x:.1f}" y2="{height}" stroke="#b3261e" '
                f'stroke-width="2" stroke-dasharray="4 3" data-threshold="{t}"/>'
            )
            anchor = ("end", x - 3) if x > width / 2 else ("start", x + 3)
            parts.append(
                f'<text x="{anchor[1]:.1f}" y="18" text-anchor="{anchor[0]}">'
                f"threshold {t:.3g}</text>"
            )
    parts.append(f'<text x="{pad}" y="{height + 16}">{lo:.3g}</text>')
    parts.append(f'<text x="{width - pad}" y="{height + 16}" text-anchor="end">{hi:.3g}</text>')
    parts.append(
        f'<text x="{width / 2:.0f}" y="{height + 28}" text-anchor="middle">'
        f"score ({_e(_DIRECTION_WORDS[direction])}); bar height: square root of the count, "
        f"highest {top}</text></svg>"
    )
    return "".join(parts)


_DIRECTION_WORDS = {
    "high": "flagged at or above the threshold",
    "low": "flagged at or below the threshold",
    "both": "flagged when |score| reaches the threshold",
}


def _rate_rows(summary: dict[str, Any], key: str, columns: list[str]) -> list[str]:
    """Rows of a rate table: one per detector and an "any detector" row, a column per
    ``key`` value (language pair or system); the table is closed here."""
    out = []
    for det in summary["detectors"]:
        anchor = f"#det-{det['name']}"
        row = [f'<tr><th><a href="{anchor}">{_e(det["name"])}</a></th>']
        total = (det["flagged"], det["n"], anchor, det.get("scored"), key)
        row.append(_rate_cell(det["name"], "*", *total))
        cells = {b[key]: b for b in det.get(f"by_{key}", [])}
        for c in columns:
            b = cells.get(c)
            row.append(
                _rate_cell(det["name"], c, b["flagged"], b["n"], anchor, b.get("scored"), key)
                if b
                else '<td class="muted">-</td>'
            )
        out.append("".join(row) + "</tr>")
    any_flag = summary["any_flag"]
    any_cells = {b[key]: b for b in any_flag.get(f"by_{key}", [])}
    out.append("<tr><th>any detector</th>")
    out.append(
        _rate_cell("*", "*", any_flag["flagged"], summary["n_translations"], "#rates", key=key)
    )
    for c in columns:
        b = any_cells.get(c)
        out.append(
            _rate_cell("*", c, b["flagged"], b["n"], "#rates", key=key) if b else "<td>-</td>"
        )
    out.append("</tr></tbody></table>")
    return out


def render_html(summary: dict[str, Any]) -> str:
    """One self-contained page (inline CSS and SVG; the summary JSON embedded as data)."""
    pairs = summary["pairs"]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(summary['title'])}</title><style>{_CSS}</style></head><body><main>",
        f'<h1 id="top">{_e(summary["title"])}</h1>',
        f'<p class="muted"><span data-n-translations="{summary["n_translations"]}">'
        f"{summary['n_translations']} translations</span>, {len(pairs)} language pairs, "
        f"{len(summary['detectors'])} detectors. Detectors only tag: nothing was removed.</p>",
        '<h2 id="rates">Flag rates per detector and language pair</h2>',
        "<table><thead><tr><th>detector</th><th>all pairs</th>",
        *[f"<th>{_e(p)}</th>" for p in pairs],
        "</tr></thead><tbody>",
    ]
    out += _rate_rows(summary, "pair", pairs)
    systems = summary.get("systems", [])
    if systems and systems != ["-"]:
        out += [
            '<h2 id="systems">Flag rates per detector and system</h2>',
            "<table><thead><tr><th>detector</th><th>all systems</th>",
            *[f"<th>{_e(k)}</th>" for k in systems],
            "</tr></thead><tbody>",
        ]
        out += _rate_rows(summary, "system", systems)
    out.append(
        '<p class="muted">Rates: flagged rows / rows; "-": the detector scored none of them '
        "(it lacked an input, e.g. a human reference). Click a rate for the detector. "
        "System: who translated (a system's name, <i>reference</i> for a human translation, "
        "the model for curate's own).</p>"
    )

    # An example that several detectors flagged links to its row in their sections when shown.
    shown = {
        (det["name"], ex["translation_id"]): f"ex-{det['name']}-{k}"
        for det in summary["detectors"]
        for k, ex in enumerate(det["worst"], start=1)
    }
    for det in summary["detectors"]:
        name = det["name"]
        out.append(f'<section class="det" id="det-{_e(name)}" data-detector="{_e(name)}">')
        out.append(
            f'<h3>{_e(name)} <span class="muted">v{_e(det["version"])}</span></h3>'
            f"<p>{_e(det['description'])}</p>"
            f'<p><span class="flag">{det["flagged"]}</span> of {det["n"]} rows flagged '
            f"({_pct(det['flagged'], det['n'])}); {det['scored']} scored; thresholds "
            f"{', '.join(_fmt(t) for t in det['thresholds']) or '-'} "
            f'<a href="#rates">back to rates</a></p>'
        )
        out.append(_svg_histogram(det["histogram"], det["direction"]))
        if not det["worst"]:
            out.append('<p class="muted">No flagged rows.</p>')
        else:
            out.append(f"<p>Worst {len(det['worst'])} flagged rows:</p>")
            out.append(
                "<table><thead><tr><th>#</th><th>pair, system, dataset</th><th>score</th>"
                "<th>source</th>"
                "<th>translation</th><th>evidence / other flags</th></tr></thead><tbody>"
            )
            for k, ex in enumerate(det["worst"], start=1):
                others = "".join(
                    f'<a class="tag" href="#{_e(shown.get((o, ex["translation_id"]), "det-" + o))}"'
                    f">{_e(o)}</a>"
                    for o in ex["other_flags"]
                )
                mark = '<span class="flag">flagged</span>' if ex["flag"] else "not flagged"
                out.append(
                    f'<tr id="ex-{_e(name)}-{k}" data-translation-id="{_e(ex["translation_id"])}">'
                    f'<td><a href="#ex-{_e(name)}-{k}">{k}</a></td><td>{_e(ex["pair"])}<br>'
                    f'{_e(ex.get("system"))}<br><span class="muted">{_e(ex.get("dataset"))}'
                    "</span></td>"
                    f'<td class="num">{_fmt(ex["score"])}<br>{mark}</td>'
                    f'<td class="text">{_e(ex["source_text"])}</td>'
                    f'<td class="text">{_e(ex["text"])}</td>'
                    f"<td>{_e(ex['detail'])}<br>{others}<br>"
                    f'<span class="muted">{_e(ex["translation_id"])}</span></td></tr>'
                )
            out.append("</tbody></table>")
        out.append("</section>")
    data = json.dumps(summary, ensure_ascii=False).replace("</", "<\\/")
    out.append(f'<script type="application/json" id="summary-data">{data}</script>')
    out.append("</main></body></html>")
    return "\n".join(out)


def write_report(
    table: pa.Table | pl.DataFrame,
    html_path: str | Path,
    json_path: str | Path | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Summarise ``table`` and write the HTML page (and the JSON numbers); returns the summary."""
    summary = summarize(table, **options)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(summary), encoding="utf-8")
    if json_path is not None:
        Path(json_path).write_text(
            json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    return summary
