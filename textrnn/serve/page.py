"""The web page at `/`: one self-contained HTML file (inline CSS, JS and SVG; nothing fetched
from the internet), rendered once at start-up from the model's info."""

from __future__ import annotations

import html
from typing import Any

_CSS = """
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:.8rem 1.5rem}header h1{margin:0;font-size:1.25rem}
header span{opacity:.8;font-size:.9rem}
main{display:flex;flex-wrap:wrap;gap:1.2rem;padding:1.2rem}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:1rem 1.2rem}
#left{flex:3 1 28rem}#right{flex:2 1 22rem}
textarea{width:100%;min-height:9rem;font:inherit;padding:.5rem}
button{font:inherit;padding:.4rem 1.2rem;margin-top:.5rem;background:#1f3a5f;color:#fff;border:0;
border-radius:5px;cursor:pointer}
button:disabled{opacity:.5}#label{font-size:1.6rem;font-weight:700}
.bar{display:flex;align-items:center;gap:.5rem;margin:.15rem 0}
.bar div.b{height:.9rem;background:#3b7dd8}.bar span.n{width:6rem}
#words{line-height:2;margin-top:.6rem}mark{padding:0 .15em;border-radius:.2em}
#error{color:#b00020;font-weight:600}table{border-collapse:collapse;font-size:.9rem}
td,th{padding:.15rem .6rem;border-bottom:1px solid #eee;text-align:left}
.note{color:#57606a;font-size:.85rem}
"""

_JS = """
const form = document.getElementById('form'), out = document.getElementById('result');
function bar(name, p) {
  const row = document.createElement('div'); row.className = 'bar';
  const n = document.createElement('span'); n.className = 'n'; n.textContent = name;
  const b = document.createElement('div'); b.className = 'b'; b.style.width = (p * 14) + 'rem';
  const v = document.createElement('span'); v.textContent = p.toFixed(3);
  row.append(n, b, v); return row;
}
function words(list) {
  const scale = Math.max(0, ...list.map(w => Math.abs(w.weight)));
  const box = document.getElementById('words');
  box.replaceChildren();
  list.forEach((w, i) => {
    const m = document.createElement('mark');
    const a = scale ? Math.min(1, Math.abs(w.weight) / scale) : 0;
    const rgb = w.weight > 0 ? '0,160,60' : '220,40,40';
    m.style.background = `rgba(${rgb},${(a * 0.85).toFixed(3)})`;
    m.title = (w.weight >= 0 ? '+' : '') + w.weight.toFixed(4); m.textContent = w.word;
    box.append(m, i + 1 < list.length ? ' ' : '');
  });
}
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const button = form.querySelector('button'), err = document.getElementById('error');
  button.disabled = true; err.textContent = '';
  try {
    const r = await fetch('explain', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({text: document.getElementById('text').value})});
    const data = await r.json();
    if (!r.ok) { err.textContent = data.error || ('HTTP ' + r.status); out.hidden = true; return; }
    document.getElementById('label').textContent = data.label;
    const probs = document.getElementById('probs'); probs.replaceChildren();
    Object.entries(data.probabilities).forEach(([k, v]) => probs.append(bar(k, v)));
    words(data.words); out.hidden = false;
  } catch (e) { err.textContent = 'The server did not answer: ' + e; }
  finally { button.disabled = false; }
});
"""


def render_page(info: dict[str, Any]) -> str:
    """The page's HTML for a model described by `serve.info.model_info`."""
    name = html.escape(str(info.get("name") or "model"))
    labels = ", ".join(html.escape(str(label)) for label in info["labels"])
    kind = f"ensemble of {info['members']}" if info["kind"] == "ensemble" else "single run"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>textrnn · {name}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>textrnn · {name}</h1><span>{kind} · classes {labels} · "
        f"{info['parameters']:,} parameters · "
        '<a style="color:#fff" href="docs">API</a></span></header>'
        '<main><div id="left"><section><form id="form">'
        '<label for="text"><b>Text to classify</b></label>'
        '<textarea id="text" name="text" placeholder="Paste or type a review…" required></textarea>'
        '<button type="submit" id="submit">Classify</button></form><p id="error"></p>'
        '<div id="result" hidden><div>Predicted: <span id="label"></span></div>'
        '<div id="probs"></div><div id="words"></div>'
        '<p class="note">Green words pushed towards the predicted label, red ones '
        "away from it; the stronger the colour, the larger the weight "
        "(hover a word for its weight: the "
        "drop in the label's probability when that word is deleted).</p></div></section></div>"
        '<div id="right"><section><h2>Training curves</h2>'
        f"{curves_svg(info.get('history'))}</section>"
        '<section style="margin-top:1.2rem"><h2>Test metrics</h2>'
        f"{metrics_table(info.get('metrics'))}"
        "</section></div></main>"
        f"<script>{_JS}</script></body></html>\n"
    )


def metrics_table(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return '<p class="note">This run has no test metrics (metrics.json).</p>'
    rows = []
    for key, label in (("accuracy", "accuracy"), ("loss", "loss"), ("roc_auc", "ROC AUC")):
        if isinstance(metrics.get(key), (int, float)):
            rows.append(f"<tr><th>{label}</th><td>{metrics[key]:.4f}</td></tr>")
    macro = metrics.get("macro") or {}
    if isinstance(macro.get("f1"), (int, float)):
        rows.append(f"<tr><th>macro F1</th><td>{macro['f1']:.4f}</td></tr>")
    if isinstance(metrics.get("samples"), int):
        rows.append(f"<tr><th>test texts</th><td>{metrics['samples']:,}</td></tr>")
    per_class = metrics.get("per_class") or {}
    head = "<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
    classes = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{v.get('precision', 0):.3f}</td>"
        f"<td>{v.get('recall', 0):.3f}</td>"
        f"<td>{v.get('f1', 0):.3f}</td><td>{v.get('support', '')}</td></tr>"
        for k, v in per_class.items()
        if isinstance(v, dict)
    )
    return (
        f'<table id="metrics">{"".join(rows)}</table><table style="margin-top:.6rem">{head}{classes}</table>'
    )


def curves_svg(history: dict[str, Any] | None) -> str:
    """Accuracy and loss per epoch (training and validation) as two inline SVG charts."""
    if not history or not history.get("loss"):
        return '<p class="note">No training history (history.json).</p>'
    return _chart("accuracy", history.get("acc", []), history.get("val_acc", [])) + _chart(
        "loss", history.get("loss", []), history.get("val_loss", [])
    )


def _chart(title: str, train: list[Any], val: list[Any]) -> str:
    w, h, pad = 320, 150, 34
    series = [(s, c, n) for s, c, n in ((train, "#3b7dd8", "training"), (val, "#e07b1a", "validation")) if s]
    values = [float(v) for s, _, _ in series for v in s if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    epochs = max(len(s) for s, _, _ in series)

    def xy(i: int, v: float) -> str:
        x = pad + (w - pad - 10) * (i / max(1, epochs - 1))
        y = h - pad + 14 - (h - pad - 4) * (v - lo) / (hi - lo)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg class="curve" role="img" aria-label="{title}" viewBox="0 0 {w} {h}" width="{w}" '
        f'height="{h}" xmlns="http://www.w3.org/2000/svg" font-size="10">',
        f'<text x="{pad}" y="10" font-weight="600">{title}</text>',
        f'<line x1="{pad}" y1="{h - pad + 14}" x2="{w - 10}" y2="{h - pad + 14}" stroke="#999"/>',
        f'<text x="2" y="{h - pad + 14}">{lo:.3f}</text><text x="2" y="22">{hi:.3f}</text>',
        f'<text x="{w - 60}" y="{h - 2}">epochs 1–{epochs}</text>',
    ]
    for k, (s, color, label) in enumerate(series):
        points = " ".join(xy(i, float(v)) for i, v in enumerate(s) if v is not None)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        parts.extend(
            f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{color}"/>'
            for p in points.split()
        )
        parts.append(f'<text x="{pad + 10 + 80 * k}" y="{h - 2}" fill="{color}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)
