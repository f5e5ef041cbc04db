// The agent desk's knowledge search: words (English or Chinese) in the box at the top find articles
// with the same matcher that pushes the cards (GET /api/agent/knowledge/search, best first); a result
// opens with its title, script and steps. Opened during a call, it is recorded on the call as a card
// of its own ("source": "search"), and "Used" marks it used like a pushed card. The last question
// the caller asked the voice bot opens its article here too (desk.js shows the question).
'use strict';
(() => {
  const {$, esc} = hotline;
  const desk = window.hotlineDesk;
  let results = [];  // the last search's articles
  let shown = null;  // the article open here: {card, language, call, n, verdict}
  window.deskSearch = {searches: 0, opened: 0};  // what tests can observe

  function close() {
    $('kb-results').hidden = true;
    shown = null;
  }
  async function search() {
    const q = $('kb-q').value.trim();
    if (!q) { $('kb-q').focus(); return; }
    const params = new URLSearchParams({q, lang: $('kb-lang').value});
    $('kb-results').hidden = false;
    $('kb-summary').textContent = 'searching\u2026';
    const r = await hotline.request(`/api/agent/knowledge/search?${params}`);
    window.deskSearch.searches += 1;
    if (!r.ok) {
      results = [];
      $('kb-list').replaceChildren();
      $('kb-summary').textContent = hotline.detail(r.body);
      return;
    }
    results = r.body.results;
    $('kb-summary').textContent = results.length
      ? `${results.length} article${results.length > 1 ? 's' : ''} for \u201c${q}\u201d`
      : `nothing found for \u201c${q}\u201d: try other words`;
    $('kb-list').innerHTML = results.map((a, i) => `<li data-article="${esc(a.article)}" data-rank="${i}">
      <button type="button" class="kb-open"><b>${esc(a.title)}</b>
      <span class="kb-words">${a.matched.map(w => esc(w.startsWith('~') ? `\u2248${w.slice(1)}` : w)).join(' \u00b7 ')}</span>
      </button></li>`).join('');
    for (const li of $('kb-list').children) {
      li.querySelector('button').onclick = () => open(results[Number(li.dataset.rank)], r.body.language, 'search');
    }
    if (results.length) open(results[0], r.body.language, 'search', false);
    else $('kb-article').hidden = true;
  }
  // show one article; from a search during a call (record = true) it goes on the call's record
  function open(card, language, source, record = true) {
    const callId = desk.call();
    shown = {card, language, call: callId, n: null, verdict: ''};
    for (const li of $('kb-list').children) li.setAttribute('aria-current', String(li.dataset.article === card.article));
    $('kb-article').hidden = false;
    $('kb-article').dataset.article = card.article;
    delete $('kb-article').dataset.n;
    $('kb-title').textContent = card.title;
    $('kb-source').textContent = source === 'bot' ? 'read by the bot' : `score ${Number(card.score).toFixed(2)}`;
    $('kb-script').textContent = card.script;
    $('kb-steps').innerHTML = (card.steps || []).map(s => `<li>${esc(s)}</li>`).join('');
    $('kb-verdict').textContent = callId ? '' : 'not on a call: nothing to record';
    $('kb-used').disabled = true;
    if (!callId) return;
    if (record || source === 'bot') {
      window.deskSearch.opened += 1;
      desk.send({type: 'assist_search', call: callId, article: card.article, language,
                 rank: Number.isInteger(card.rank) ? card.rank : null});
    } else {
      $('kb-used').disabled = false;  // the first result, shown but not opened: recorded on "Used"
    }
  }
  function used() {
    if (!shown || !shown.call || shown.call !== desk.call()) return;
    $('kb-used').disabled = true;
    if (shown.n === null) {  // not recorded yet (the first result, shown without a click)
      shown.verdict = 'used';
      desk.send({type: 'assist_search', call: shown.call, article: shown.card.article, language: shown.language,
                 rank: Number.isInteger(shown.card.rank) ? shown.card.rank : null});
      return;
    }
    desk.send({type: 'assist_feedback', call: shown.call, n: shown.n, verdict: 'used'});
  }
  // the voice bot's article, opened from the call bar: recorded like an article found here
  async function openArticle(id, language) {
    const r = await hotline.request(`/api/knowledge/${encodeURIComponent(id)}`);
    if (!r.ok) { $('kb-results').hidden = false; $('kb-summary').textContent = hotline.detail(r.body); return; }
    const a = r.body.article, pick = name => a[language === 'en' ? name : `${name}_${language}`] || a[name];
    $('kb-results').hidden = false;
    $('kb-summary').textContent = 'the article the voice bot read to the caller';
    $('kb-list').replaceChildren();
    open({article: a.id, title: pick('title') || a.id, script: pick('script') || '', steps: pick('steps') || []},
         language, 'bot');
  }
  desk.openArticle = openArticle;
  desk.listeners.push(m => {
    if (m.type === 'assist_search_saved' && shown && m.call === shown.call && m.article === shown.card.article
        && shown.n === null) {
      shown.n = m.n;
      $('kb-article').dataset.n = m.n;
      if (shown.verdict === 'used') desk.send({type: 'assist_feedback', call: shown.call, n: m.n, verdict: 'used'});
      else $('kb-used').disabled = false;
    }
    if (m.type === 'assist_feedback_saved' && shown && m.call === shown.call && m.n === shown.n) {
      shown.verdict = m.verdict;
      $('kb-article').dataset.verdict = m.verdict;
      $('kb-verdict').textContent = m.verdict === 'used' ? 'marked used' : 'marked not relevant';
    }
    if (m.type === 'desk_call' && shown && shown.call !== m.call) {  // another call (or none): nothing to record on
      shown.call = m.call;
      shown.n = null;
      $('kb-used').disabled = !m.call;
      $('kb-verdict').textContent = m.call ? '' : 'not on a call: nothing to record';
    }
  });

  $('kb-search').onsubmit = ev => { ev.preventDefault(); search(); };
  $('kb-used').onclick = used;
  $('kb-close').onclick = close;
  document.addEventListener('keydown', ev => { if (ev.key === 'Escape' && !$('kb-results').hidden) close(); });
})();
