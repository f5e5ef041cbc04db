"""The HTML frame shared by the built-in pages (plain HTML and JavaScript, no build step), the
login form every staff page answers with when nobody is logged in, and the refusal page."""

from __future__ import annotations

from html import escape

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 2rem 2rem; color: #1d2430; }
nav { padding: .8rem 0; border-bottom: 1px solid #dde3ea; margin-bottom: 1rem; min-height: 1.4rem; }
nav a { margin-right: 1.2rem; color: #1f5fbf; text-decoration: none; }
nav a[aria-current] { font-weight: 600; color: #1d2430; }
nav .who { margin: 0 .8rem 0 1rem; color: #667085; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #e6eaef; vertical-align: top; }
.status.ok { color: #18794e; font-weight: 600; }
.status.error { color: #c62828; font-weight: 600; }
.error { color: #c62828; font-weight: normal; font-family: ui-monospace, monospace; font-size: 13px; }
.file { color: #667085; font-size: 12px; }
button { margin: 0 .2rem .2rem 0; }
#diagram img { max-width: 100%; border: 1px solid #e6eaef; margin-top: .5rem; }
form.login { max-width: 22rem; display: grid; gap: .6rem; margin-top: 1rem; }
form.login input { padding: .4rem; font: inherit; }
"""


def page(title: str, body: str, script: str = "", staff: bool = True) -> str:
    """A page; staff pages get the navigation of the user's roles and the shared prelude
    (session cookie, CSRF header, log-out). The customer's pages (`staff=False`) get neither."""
    nav = '<nav id="staff-nav"></nav>' if staff else ""
    prelude = '<script src="/static/hotline.js"></script>' if staff else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - hotline</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body data-staff="{'yes' if staff else 'no'}">{nav}
{body}
{prelude}
<script>{script}</script>
</body></html>"""


_LOGIN_BODY = """
<h1>hotline staff login</h1>
<p>Agents, QA reviewers, supervisors and administrators log in here once; every page of your
roles opens afterwards. Callers use <a href="/call">the call page</a>.</p>
<form class="login" id="login-form">
  <input id="username" name="username" placeholder="user name" autocomplete="username" required>
  <input id="password" name="password" type="password" placeholder="password" autocomplete="current-password"
   required>
  <button id="login" type="submit">Log in</button>
  <span id="login-error" class="error" role="alert"></span>
</form>
"""

_LOGIN_SCRIPT = """
document.getElementById('login-form').onsubmit = async ev => {
  ev.preventDefault();
  const err = document.getElementById('login-error');
  err.textContent = '';
  const r = await fetch('/api/auth/login', {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify({username: document.getElementById('username').value,
                          password: document.getElementById('password').value})});
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { err.textContent = typeof body.detail === 'string' ? body.detail : 'login failed'; return; }
  const next = new URLSearchParams(location.search).get('next');
  if (location.pathname !== '/login') location.reload();  // a staff page answered with this form
  else location.href = next && next.startsWith('/') && !next.startsWith('//') && !next.includes(String.fromCharCode(92))
    ? next : '/';  // our own pages only (a backslash counts as a slash in browsers)
};
"""


def login_page() -> str:
    return page("Log in", _LOGIN_BODY, _LOGIN_SCRIPT, staff=False)


def forbidden_page(detail: str) -> str:
    return page("Not allowed", f"""<h1>Not allowed</h1><p id="forbidden">This page {escape(detail)}.
Your pages are in the menu above; <a href="/login">log in</a> as someone else if you need this one.</p>""")
