// The home page: the health of the hotline's parts (public, as /api/health) and a logged-in user's pages.
'use strict';
hotline.me.then(user => {
  if (!user) return;
  const box = hotline.$('home-pages');
  box.replaceChildren();
  const h = document.createElement('h2');
  h.textContent = `Your pages, ${user.name}`;
  box.appendChild(h);
  const ul = document.createElement('ul');
  for (const p of user.pages) {
    const li = document.createElement('li'), a = document.createElement('a');
    a.href = p.path;
    a.textContent = p.title;
    li.appendChild(a);
    ul.appendChild(li);
  }
  box.appendChild(ul);
});

function healthRows(h) {
  const workers = h.sip.workers || [];
  const calls = workers.reduce((n, w) => n + (w.calls || 0), 0);
  const service = h.asr.service;
  return [
    ['SIP edge', h.sip.listening, `${h.sip.address || ''}`],
    ['Media workers', workers.length > 0, `${workers.length} up, ${calls} calls of ${h.sip.capacity}`],
    ['Recogniser', !service || service.ok, `${h.asr.engine} (${h.asr.model})` +
      (service && service.ok ? `, ${service.queued || 0} waiting` : service ? ', not answering' : '')],
    ['Redis', h.redis.ok, h.redis.ok ? 'shared state and events' : `unreachable (${h.redis.error})`],
    ['Call store', h.store.ok, h.store.ok ? 'records, tickets, reviews' : `failing (${h.store.error})`],
  ];
}

async function showHealth() {
  const status = hotline.$('health-status');
  let h;
  try {
    const r = await fetch('/api/health');
    h = await r.json();
  } catch (e) {
    status.textContent = `The server did not answer (${e}).`;
    return;
  }
  status.textContent = h.status === 'ok' ? `All parts are up (version ${h.version}).`
    : `Degraded: a part below is down (version ${h.version}).`;
  status.className = h.status === 'ok' ? 'ok' : 'bad';
  const body = hotline.$('health').querySelector('tbody');
  body.replaceChildren();
  for (const [part, ok, detail] of healthRows(h)) {
    const tr = document.createElement('tr');
    tr.dataset.part = part;
    for (const [text, cls] of [[part, ''], [ok ? 'up' : 'down', ok ? 'ok' : 'bad'], [detail, 'muted']]) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}
showHealth();
setInterval(showHealth, 10000);
