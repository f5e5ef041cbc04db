// The shared prelude of every built-in page (staff pages have <body data-staff="yes">): the session
// travels in an HttpOnly cookie (never in a URL); every same-origin request that changes something
// gets the session's CSRF token in X-CSRF-Token; on a staff page a request answered 401 (the session
// ended) brings back the login form; the navigation shows the pages of the user's roles, with
// log-out. It also wires the login form (on /login and on every staff page answered with it) and
// gives the pages their helpers: window.hotline.
'use strict';
(() => {
  const staff = document.body.dataset.staff === 'yes';
  const $ = id => document.getElementById(id);
  const ESCAPES = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
  // text for innerHTML: null and undefined are empty
  const esc = s => (s === null || s === undefined ? '' : String(s)).replace(/[&<>"']/g, c => ESCAPES[c]);
  // epoch seconds as local date and time ('-' for none)
  const when = t => (t ? new Date(t * 1000).toLocaleString() : '-');
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
    if (response.status === 401 && staff && url.origin === location.origin && !url.pathname.startsWith('/api/auth/')) {
      location.reload();  // the session ended: the page answers with the login form
    }
    return response;
  };
  // a JSON request: the response and its body ({} when it has none)
  async function request(url, method = 'GET', body = undefined) {
    const init = {method};
    if (body !== undefined) {
      init.headers = {'content-type': 'application/json'};
      init.body = JSON.stringify(body);
    }
    const response = await window.fetch(url, init);
    return {ok: response.ok, status: response.status, body: await response.json().catch(() => ({}))};
  }
  const getJSON = async url => (await request(url)).body;
  // an error detail from the API as one line of text
  const detail = body => (typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail));

  // WebRTC, for the call page and the desk: the raw microphone (the server does its own processing),
  // and non-trickle ICE (the offer goes out once every candidate is in it, at most 3 s later)
  const microphone = () => navigator.mediaDevices.getUserMedia(
    {audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  function waitIce(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise(resolve => {
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
      setTimeout(resolve, 3000);
    });
  }

  const me = staff
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
    const nav = $('staff-nav');
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

  // the login form: on /login it goes on to ?next= (our own pages only), anywhere else (a staff
  // page answered with the form) it reloads the page
  const form = $('login-form');
  if (form) {
    form.onsubmit = async ev => {
      ev.preventDefault();
      const err = $('login-error');
      err.textContent = '';
      const r = await request('/api/auth/login', 'POST', {username: $('username').value, password: $('password').value});
      if (!r.ok) { err.textContent = typeof r.body.detail === 'string' ? r.body.detail : 'login failed'; return; }
      const next = new URLSearchParams(location.search).get('next');
      if (location.pathname !== '/login') location.reload();
      else location.href = next && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\')
        ? next : '/';  // a backslash counts as a slash in browsers
    };
  }
  window.hotline = {me, logout, csrf, $, esc, when, request, getJSON, detail, microphone, waitIce, text};
})();
