// The reports page: the filters go to GET /api/reports (every figure is computed on the server),
// each table is drawn from its columns and rows with a link to its CSV export, and the charts are
// Chart.js (Debian's libjs-chart.js, served by hotline itself at /vendor/chart.js/chart.min.js, loaded
// here: without it the tables still show).
'use strict';
const {$, esc, detail} = hotline;
const RATE = /(rate|share|service_level|occupancy)$/;
const COLORS = ['#1f5fbf', '#18794e', '#c62828', '#9a6700', '#6e40c9', '#667085', '#0b7285'];
const charts = {};
const CHART_JS = '/vendor/chart.js/chart.min.js';
const chartLibrary = new Promise(resolve => {
  const script = document.createElement('script');
  script.src = CHART_JS;
  script.onload = () => resolve(window.Chart || null);
  script.onerror = () => resolve(null);
  document.head.appendChild(script);
});

const day = d => {
  const pad = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
};

function params() {
  const q = new URLSearchParams();
  // the days are the viewer's: local midnight to the midnight after the last day, as epoch seconds
  const midnight = (value, days) => {
    const d = new Date(`${value}T00:00`);
    d.setDate(d.getDate() + days);
    return String(Math.floor(d.getTime() / 1000));
  };
  if ($('f-since').value) q.set('since', midnight($('f-since').value, 0));
  if ($('f-until').value) q.set('until', midnight($('f-until').value, 1));
  if ($('f-queue').value.trim()) q.set('queue', $('f-queue').value.trim());
  if ($('f-target').value) q.set('target', $('f-target').value);
  q.set('tz', String(-new Date().getTimezoneOffset()));
  return q;
}

function cell(key, value) {
  if (value === null || value === undefined) return '<td class="num na" title="not available">-</td>';
  if (typeof value === 'number') {
    const shown = RATE.test(key) ? `${(value * 100).toFixed(1)}%` : String(value);
    return `<td class="num" data-key="${esc(key)}">${esc(shown)}</td>`;
  }
  return `<td data-key="${esc(key)}">${esc(value)}</td>`;
}

function drawTable(box, name, table, query) {
  const numeric = key => table.rows.some(r => typeof r[key] === 'number');
  const head = table.columns.map(c => `<th${numeric(c.key) ? ' class="num"' : ''}>${esc(c.label)}</th>`).join('');
  const rows = table.rows.length
    ? table.rows.map(r => `<tr>${table.columns.map(c => cell(c.key, r[c.key])).join('')}</tr>`).join('')
    : `<tr><td colspan="${table.columns.length}" class="hint">no data in this period</td></tr>`;
  box.className = 'report-table';
  box.innerHTML = `<h3>${esc(table.title)}<a href="/api/reports/${esc(name)}.csv?${esc(query)}" download>CSV</a></h3>`
    + `<table id="table-${esc(name)}"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`
    + (table.note ? `<p class="hint">${esc(table.note)}</p>` : '');
}

function chart(Chart, id, type, labels, datasets, options = {}) {
  if (charts[id]) charts[id].destroy();
  const sets = datasets.map((d, i) => ({backgroundColor: type === 'doughnut' ? COLORS : COLORS[i % COLORS.length],
    borderColor: type === 'line' ? COLORS[i % COLORS.length] : undefined, ...d}));
  charts[id] = new Chart($(id), {type, data: {labels, datasets: sets},
    options: {animation: false, responsive: true, maintainAspectRatio: false,
      plugins: {title: {display: true, text: $(id).getAttribute('aria-label')}}, ...options}});
}

function drawCharts(Chart, t) {
  const stacked = {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}}};
  const hours = t.calls_by_hour.rows;
  chart(Chart, 'chart-hour', 'bar', hours.map(r => String(r.hour)),
    [{label: 'sip', data: hours.map(r => r.sip)}, {label: 'webrtc', data: hours.map(r => r.webrtc)}], stacked);
  const days = t.calls_by_day.rows;
  chart(Chart, 'chart-day', 'bar', days.map(r => r.day),
    [{label: 'sip', data: days.map(r => r.sip)}, {label: 'webrtc', data: days.map(r => r.webrtc)}], stacked);
  const ch = t.calls_by_channel.rows;
  chart(Chart, 'chart-channel', 'doughnut', ch.map(r => r.channel), [{label: 'calls', data: ch.map(r => r.calls)}]);
  const kinds = t.ivr_containment.rows.filter(r => r.class !== 'total');
  chart(Chart, 'chart-containment', 'doughnut', kinds.map(r => r.label), [{label: 'calls', data: kinds.map(r => r.calls)}]);
  const nodes = t.ivr_nodes.rows.slice(0, 12);
  chart(Chart, 'chart-nodes', 'bar', nodes.map(r => r.node), [{label: 'hung up here', data: nodes.map(r => r.abandoned)},
    {label: 'asked for a person here', data: nodes.map(r => r.to_person)}], stacked);
  const queues = t.acd.rows;
  chart(Chart, 'chart-acd', 'bar', queues.map(r => r.queue), [{label: 'offered', data: queues.map(r => r.offered)},
    {label: 'answered', data: queues.map(r => r.answered)}, {label: 'abandoned', data: queues.map(r => r.abandoned)}],
  {scales: {y: {beginAtZero: true, ticks: {precision: 0}}}});
  const qa = t.qa.rows.filter(r => r.agent !== 'total');
  chart(Chart, 'chart-qa', 'bar', qa.map(r => r.agent), [{label: 'average %', data: qa.map(r => r.avg_percent)}],
    {scales: {y: {beginAtZero: true, max: 100}}});
}

function tile(label, value, rate = false) {
  const shown = value === null || value === undefined ? '-' : (rate ? `${(value * 100).toFixed(1)}%` : String(value));
  return `<div class="tile"><div class="value">${esc(shown)}</div><div class="label">${esc(label)}</div></div>`;
}

async function load() {
  const status = $('report-status');
  status.textContent = 'loading...';
  const query = params();
  const r = await hotline.request(`/api/reports?${query}`);
  if (!r.ok) { status.textContent = `report failed: ${detail(r.body)}`; return; }
  const rep = r.body, s = rep.summary;
  status.textContent = `${new Date(rep.since * 1000).toLocaleString()} to ${new Date(rep.until * 1000).toLocaleString()}`
    + (rep.queue ? `, queue ${rep.queue}` : '');
  $('tiles').innerHTML = tile('Calls', s.calls) + tile('IVR containment', s.containment_rate, true)
    + tile('Offered to agents', s.offered) + tile('Answered', s.answered) + tile('Abandoned in queue', s.abandoned)
    + tile(`Service level (${rep.target_s} s)`, s.service_level, true) + tile('ASA (s)', s.asa_s);
  const missing = Object.values(rep.not_available);
  const na = $('not-available');
  na.hidden = !missing.length;
  na.textContent = missing.length ? `Not available: ${[...new Set(missing)].join('; ')}.` : '';
  for (const box of document.querySelectorAll('[data-table]')) {
    const name = box.dataset.table;
    if (rep.tables[name]) drawTable(box, name, rep.tables[name], query.toString());
  }
  const Chart = await chartLibrary;
  if (Chart) drawCharts(Chart, rep.tables);
  else status.textContent += ' (no charts: Chart.js is not installed on the server, see make setup)';
  document.body.dataset.charts = Chart ? 'yes' : 'no';
  document.body.dataset.loaded = 'yes';
}

const now = new Date();
$('f-until').value = day(now);
$('f-since').value = day(new Date(now.getTime() - 6 * 86400000));
$('filters').onsubmit = ev => { ev.preventDefault(); load(); };
load();
