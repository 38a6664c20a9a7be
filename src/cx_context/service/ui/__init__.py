"""Pages served by the service itself: one layout, no script, nothing fetched.

Every page is server-rendered HTML with its style inline and its charts drawn
on the server as SVG (see `charts`), so it works without internet access and
prints as it shows.
"""

from collections.abc import Sequence
from html import escape

__all__ = ["STYLE", "page", "table"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1c2430;
       background: #f6f7f9; }
header { background: #1c2430; color: #fff; padding: .8rem 1.5rem; }
header h1 { font-size: 1.35rem; margin: 0; }
header p { margin: .2rem 0 0; color: #c9d1db; font-size: .9rem; }
header nav a { color: #c9d1db; margin-right: 1rem; font-size: .85rem; }
main { padding: 1rem 1.5rem 2rem; max-width: 78rem; }
section { background: #fff; border: 1px solid #d6dbe1; border-radius: 4px;
          padding: .6rem 1rem 1rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: .4rem 0 .6rem; }
h3 { font-size: .95rem; margin: .6rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #e3e7ec; padding: .35rem .5rem; text-align: left;
         vertical-align: top; font-size: .88rem; }
th { background: #eef1f4; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
ul.examples { margin: 0; padding-left: 1.1rem; }
.muted { color: #5b6675; font-size: .82rem; }
.empty { color: #5b6675; font-style: italic; }
.warn { color: #a33a00; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
.charts figure { margin: 0; background: #fff; border: 1px solid #d6dbe1;
                 padding: .4rem; }
.charts figcaption { font-size: .85rem; font-weight: 600; margin-bottom: .2rem; }
blockquote { margin: .2rem 0; padding: .2rem .6rem; border-left: 3px solid #c9d1db;
             background: #f6f7f9; font-size: .85rem; white-space: pre-wrap; }
form.period label { margin-right: .8rem; font-size: .88rem; }
"""

_NAV = (("Knowledge", "/ui/knowledge"), ("Scorecard", "/ui/scorecard"))


def page(
    title: str,
    body: str,
    subtitle: str | None = None,
    nav: Sequence[tuple[str, str]] = _NAV,
) -> str:
    """A whole HTML document: the shared header, then `body` (already HTML)."""
    links = "".join(
        f'<a href="{escape(href)}">{escape(label)}</a>' for label, href in nav
    )
    sub = f"<p>{escape(subtitle)}</p>" if subtitle else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · cx-context</title><style>{STYLE}</style></head>"
        f"<body><header><nav>{links}</nav><h1>{escape(title)}</h1>{sub}</header>"
        f"<main>{body}</main></body></html>"
    )


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    empty: str,
    numeric: Sequence[int] = (),
    css_id: str | None = None,
) -> str:
    """A table of cells that are already HTML, or a line saying it is empty."""
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>'

    def cls(index: int) -> str:
        return ' class="num"' if index in numeric else ""

    head = "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    ident = f' id="{escape(css_id)}"' if css_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
