"""The HTML frame shared by the built-in pages (plain HTML and JavaScript, no build step)."""

from __future__ import annotations

from html import escape

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 2rem 2rem; color: #1d2430; }
nav { padding: .8rem 0; border-bottom: 1px solid #dde3ea; margin-bottom: 1rem; }
nav a { margin-right: 1.2rem; color: #1f5fbf; text-decoration: none; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #e6eaef; vertical-align: top; }
.status.ok { color: #18794e; font-weight: 600; }
.status.error { color: #c62828; font-weight: 600; }
.error { color: #c62828; font-weight: normal; font-family: ui-monospace, monospace; font-size: 13px; }
.file { color: #667085; font-size: 12px; }
button { margin: 0 .2rem .2rem 0; }
#diagram img { max-width: 100%; border: 1px solid #e6eaef; margin-top: .5rem; }
"""


def page(title: str, body: str, script: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - hotline</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body><nav><a href="/desk">Desk</a><a href="/call">Call</a><a href="/admin/flows">Flows</a><a href="/admin/knowledge">Knowledge</a><a href="/api/calls">Calls (JSON)</a><a href="/tickets">Tickets</a><a href="/qa">QA</a>
<a href="/docs">API</a></nav>
{body}
<script>{script}</script>
</body></html>"""
