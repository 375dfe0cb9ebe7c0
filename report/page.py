"""The shell every HTML report shares (stats, eval, audit): one self-contained page, CSS
inline, no script, and a Content-Security-Policy that forbids every fetch, so the file
provably opens offline and cannot phone home."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

#: Images only as data: URIs (the embedded plots), styles only inline, nothing else.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232b;
       margin: 0 auto; max-width: 1100px; padding: 1.5rem 2rem 4rem; background: #fbfbfc; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { margin-top: 2.4rem; border-bottom: 2px solid #3b7dd8; padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1.4rem 0 0.4rem; }
nav a { margin-right: 1rem; }
.tables { display: flex; flex-wrap: wrap; gap: 0 2rem; align-items: flex-start; }
table { border-collapse: collapse; margin-bottom: 0.6rem; font-size: 0.88rem; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #e2e5ea; }
th { text-align: left; background: #eef2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr));
           gap: 0.5rem 1.5rem; }
.figures .wide { grid-column: 1 / -1; }
figure { margin: 0.8rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e5ea; background: #fff; }
figcaption { font-weight: 600; margin-bottom: 0.3rem; }
.note { color: #5b6570; font-size: 0.85rem; margin: 0 0 0.8rem; }
details { margin: 0.5rem 0; }
summary { font-weight: 600; cursor: pointer; }
.notes { background: #fff6e0; border-left: 4px solid #e6ab02; padding: 0.5rem 1rem; }
"""


def html_page(title: str, body: str, *, style: str = "") -> str:
    """The page titled `title` (escaped here) around `body` (HTML its caller escaped);
    `style` adds rules of the caller's own to the shared ones."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}{style}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def notes_html(notes: Sequence[str]) -> str:
    """Warnings and notes as one highlighted list, or nothing when there are none."""
    items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return f'<div class="notes"><ul>{items}</ul></div>' if items else ""
