// The shared prelude of the staff pages: the session travels in an HttpOnly cookie (never in a URL);
// every same-origin request that changes something gets the session's CSRF token in X-CSRF-Token;
// a request answered 401 (the session ended) brings back the login form; the navigation shows the
// pages of the user's roles, with log-out.
'use strict';
(() => {
  const csrf = () => {
    const m = document.cookie.match(/(?:^|;\s*)hotline_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : '';
  };
  const plainFetch = window.fetch.bind(window);
  window.fetch = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url, location.href);
    const method = (init.method || (typeof input === 'string' ? 'GET' : input.method) || 'GET').toUpperCase();
    if (url.origin === location.origin && !['GET', 'HEAD', 'OPTIONS'].includes(method)) {
      const headers = new Headers(init.headers || {});
      headers.set('X-CSRF-Token', csrf());
      init = {...init, headers, credentials: 'same-origin'};
    }
    const response = await plainFetch(input, init);
    if (response.status === 401 && url.origin === location.origin && !url.pathname.startsWith('/api/auth/')
        && document.body.dataset.staff === 'yes') {
      location.reload();  // the session ended: the page answers with the login form
    }
    return response;
  };
  const me = document.body.dataset.staff === 'yes'
    ? plainFetch('/api/auth/me').then(r => (r.ok ? r.json() : null)).catch(() => null)
    : Promise.resolve(null);
  async function logout(everywhere) {
    await window.fetch(everywhere ? '/api/auth/logout-all' : '/api/auth/logout', {method: 'POST'});
    location.href = '/login';
  }
  function text(tag, value, attrs = {}) {
    const el = document.createElement(tag);
    el.textContent = value;
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
  }
  me.then(user => {
    const nav = document.getElementById('staff-nav');
    if (!nav || !user) return;
    nav.replaceChildren();
    for (const p of user.pages) {
      const a = text('a', p.title, {href: p.path});
      if (p.path === location.pathname) a.setAttribute('aria-current', 'page');
      nav.appendChild(a);
    }
    const who = text('span', `${user.name} (${user.roles.join(', ')})`, {id: 'whoami', class: 'who'});
    const out = text('button', 'Log out', {id: 'logout', type: 'button'});
    out.onclick = () => logout(false);
    const all = text('button', 'Log out everywhere', {id: 'logout-all', type: 'button'});
    all.onclick = () => logout(true);
    nav.append(who, out, all);
  });
  window.hotline = {me, logout, csrf};
})();
