// The knowledge base page (admin): status, usage report, a matcher try-out that explains its score,
// and the article editor: a form with, per language, a title, the agent's script, steps, tags and the
// voice bot's spoken answer. The report has the agent desk's cards and search and the voice bot.
'use strict';
const {$, esc} = hotline;
const pct = x => (x === null || x === undefined ? '-' : (100 * x).toFixed(1) + ' %');
const LANGUAGE_NAMES = {en: 'English', zh: 'Chinese'};
const FIELDS = ['title', 'script', 'steps', 'tags', 'answer'];
const NEEDED = ['title', 'script'];  // per language (the desk's card shows both)

async function load() {
  const kb = await hotline.getJSON('/api/knowledge');
  $('kb-status').innerHTML = `version <b>${esc(kb.version)}</b>, ${kb.articles} articles from ${esc(kb.files.join(', '))}
    <span class="status ${kb.ok ? 'ok' : 'error'}">${kb.ok ? 'ok' : 'last edit rejected'}</span>`;
  $('kb-errors').innerHTML = kb.errors.map(e => `<li>${esc(e)}</li>`).join('');
  $('articles').innerHTML = kb.items.map(a => `<tr data-article="${esc(a.id)}"><td>${esc(a.id)}</td>
    <td>${esc(a.title)}</td><td>${esc(a.languages.join(' '))}</td><td class="file">${esc(a.file)}</td></tr>`).join('');
  for (const tr of document.querySelectorAll('#articles tr')) {  // a click opens the article in the editor
    tr.onclick = () => { $('edit-id').value = tr.dataset.article; loadArticle(); };
  }
  const since = Date.now() / 1000 - 86400 * Number($('days').value);
  const r = await hotline.getJSON(`/api/knowledge/report?since=${since}`);
  $('usage-summary').textContent = `Agent desk: ${r.calls} calls with an agent, ${r.utterances} caller utterances, ` +
    `${r.suggested} cards (match rate ${pct(r.match_rate)}), ${r.used} used, ${r.not_relevant} not relevant`;
  $('search-summary').textContent = `Desk search: ${r.searched} articles opened during calls, ${r.search_used} used`;
  const bot = r.bot;
  $('bot-summary').textContent = `Voice bot: ${bot.questions} questions in ${bot.calls} calls, ${bot.matched} answered ` +
    `(match rate ${pct(bot.match_rate)}), ${bot.no_match} with no article; ${bot.resolved} helped, ` +
    `${bot.not_helped} did not help, ${bot.transferred} to an agent, ${bot.voicemail} voicemail; ` +
    `self-service rate ${pct(bot.self_service_rate)} (${bot.self_served} self-served)`;
  $('usage').innerHTML = r.articles.map(a => `<tr data-article="${esc(a.id)}"><td>${esc(a.title)}
    <span class="file">${esc(a.id)}</span></td><td>${a.suggested}</td><td>${a.used}</td><td>${a.not_relevant}</td>
    <td>${a.no_feedback}</td><td>${pct(a.used_rate)}</td><td data-col="searched">${a.searched}</td>
    <td data-col="search_used">${a.search_used}</td><td data-col="bot_offered">${a.bot.offered}</td>
    <td>${a.bot.resolved}</td><td>${a.bot.not_helped}</td><td>${a.bot.transferred}</td>
    <td data-col="bot_self_service">${pct(a.bot.self_service_rate)}</td></tr>`).join('');
  $('never').textContent = r.never_suggested.join(', ') || '-';
}

// --- the editor ------------------------------------------------------------------------------
const languages = () => [...document.querySelectorAll('#languages fieldset')].map(f => f.dataset.lang);
const field = (name, lang) => $(`${name}-${lang}`);
function stepRow(lang, value) {
  const li = document.createElement('li');
  const input = document.createElement('input');
  input.value = value || '';
  input.className = 'step';
  input.setAttribute('aria-label', 'step');
  const remove = hotline.text('button', 'Remove', {type: 'button', class: 'remove-step', 'aria-label': 'remove this step'});
  remove.onclick = () => { li.remove(); };
  input.onkeydown = ev => {  // Enter in a step starts the next one
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    const next = stepRow(lang, '');
    li.after(next.closest('li'));
    next.focus();
  };
  li.append(input, ' ', remove);
  field('steps', lang).appendChild(li);
  return input;
}
function addLanguage(lang) {
  if (languages().includes(lang)) return field('title', lang);
  const set = $('language-template').content.firstElementChild.cloneNode(true);
  set.dataset.lang = lang;
  set.id = `lang-${lang}`;
  set.querySelector('legend').textContent = `${LANGUAGE_NAMES[lang] || lang} (${lang})`;
  for (const name of FIELDS) {
    const input = set.querySelector(`[data-field=${name}]`);
    input.id = `${name}-${lang}`;
    const error = set.querySelector(`[data-error=${name}]`);
    error.id = `err-${name}-${lang}`;
    input.setAttribute('aria-describedby', error.id);
    const label = set.querySelector(`label[data-for=${name}]`);
    if (label) label.htmlFor = input.id;
  }
  const add = set.querySelector('[data-action=add-step]');
  add.id = `add-step-${lang}`;
  add.onclick = () => stepRow(lang, '').focus();
  const remove = set.querySelector('[data-action=remove-language]');
  remove.id = `remove-lang-${lang}`;
  remove.onclick = () => {
    if (languages().length > 1) set.remove();
    else $('edit-result').textContent = 'an article needs at least one language';
  };
  $('languages').appendChild(set);
  return field('title', lang);
}
// the form from an article in the file layout ({id, title, title_zh, steps, steps_zh, ...})
function fill(article) {
  $('languages').replaceChildren();
  const langs = new Set(['en']);
  for (const key of Object.keys(article)) {
    const [name, lang] = key.split('_');
    if (FIELDS.includes(name) && lang) langs.add(lang);
  }
  for (const lang of langs) {
    addLanguage(lang);
    const suffix = lang === 'en' ? '' : '_' + lang;
    field('title', lang).value = article['title' + suffix] || '';
    field('script', lang).value = article['script' + suffix] || '';
    field('tags', lang).value = (article['tags' + suffix] || []).join(', ');
    field('answer', lang).value = article['answer' + suffix] || '';
    for (const step of article['steps' + suffix] || []) stepRow(lang, step);
  }
}
function clearErrors() {
  for (const el of document.querySelectorAll('#article-form .field-error')) el.textContent = '';
  for (const el of document.querySelectorAll('#article-form [aria-invalid]')) el.removeAttribute('aria-invalid');
  $('edit-errors').replaceChildren();
}
function fieldError(name, lang, message) {
  const error = $(lang ? `err-${name}-${lang}` : `err-${name}`);
  const input = lang ? field(name, lang) : $(`edit-${name}`);
  if (!error) return false;
  error.textContent = error.textContent ? `${error.textContent}; ${message}` : message;
  if (input) input.setAttribute('aria-invalid', 'true');
  return true;
}
// the article from the form, and the problems found before asking the server
function collect() {
  const article = {id: $('edit-id').value.trim()};
  const problems = [];
  if (!article.id) problems.push(['id', '', 'give the article an id']);
  else if (/\s/.test(article.id)) problems.push(['id', '', 'no spaces in an id: use-dashes-instead']);
  for (const lang of languages()) {
    const suffix = lang === 'en' ? '' : '_' + lang;
    const title = field('title', lang).value.trim();
    const script = field('script', lang).value.trim();
    const steps = [...field('steps', lang).querySelectorAll('input')].map(i => i.value.trim()).filter(Boolean);
    const tags = field('tags', lang).value.split(/[,，、]/).map(t => t.trim()).filter(Boolean);
    const answer = field('answer', lang).value.trim();
    if (!title && !script && !steps.length && !tags.length && !answer) continue;  // an empty language is left out
    for (const name of NEEDED) {
      if (!(name === 'title' ? title : script)) problems.push([name, lang, `a ${name} is needed in this language`]);
    }
    if (title) article['title' + suffix] = title;
    if (script) article['script' + suffix] = script;
    if (steps.length) article['steps' + suffix] = steps;
    if (tags.length) article['tags' + suffix] = tags;
    if (answer) article['answer' + suffix] = answer;
  }
  if (!Object.keys(article).some(k => k.startsWith('title'))) problems.push(['title', languages()[0] || 'en', 'a title is needed']);
  return {article, problems};
}
// the server's messages ("title_zh must not be empty", "x: missing script") next to their field
function showServerErrors(lines) {
  for (const line of [].concat(lines)) {
    const text = String(line);
    const named = text.match(/^(title|script|steps|tags|answer)(?:_([a-z]+))?\b/);
    const missing = text.match(/missing (title|script)$/);
    let placed = false;
    if (named) placed = fieldError(named[1], named[2] || 'en', text);
    else if (missing) placed = fieldError(missing[1], languages()[0] || 'en', text);
    else if (/^id\b/.test(text)) placed = fieldError('id', '', text);
    if (!placed) $('edit-errors').appendChild(hotline.text('li', text));
  }
}
const articleUrl = () => `/api/knowledge/${encodeURIComponent($('edit-id').value.trim())}`;
function reveal() {
  const editor = $('editor');
  editor.classList.remove('loaded');
  void editor.offsetWidth;  // restart the highlight
  editor.classList.add('loaded');
  editor.scrollIntoView({block: 'start'});
}
async function loadArticle() {
  clearErrors();
  if (!$('edit-id').value.trim()) { fieldError('id', '', 'which article? give its id'); return; }
  const r = await hotline.request(articleUrl());
  if (!r.ok) { fieldError('id', '', hotline.detail(r.body)); $('edit-id').scrollIntoView({block: 'center'}); return; }
  fill(r.body.article);
  $('edit-file').textContent = `in ${r.body.file}`;
  $('edit-result').textContent = `loaded ${r.body.article.id}`;
  document.body.dataset.loaded = r.body.article.id;
  reveal();
}
function newArticle() {
  clearErrors();
  $('edit-id').value = '';
  $('edit-file').textContent = 'new: goes to articles.yaml';
  fill({});
  $('edit-result').textContent = '';
  delete document.body.dataset.loaded;
  reveal();
  $('edit-id').focus();
}
async function save() {
  clearErrors();
  const {article, problems} = collect();
  if (problems.length) {
    for (const [name, lang, message] of problems) fieldError(name, lang, message);
    $('edit-result').textContent = 'not saved: see the marked fields';
    const first = document.querySelector('#article-form [aria-invalid=true]');
    if (first) first.focus();
    return;
  }
  const r = await hotline.request(articleUrl(), 'PUT', article);
  if (r.ok) {
    $('edit-result').textContent = r.body.created ? 'created' : 'saved';
    $('edit-file').textContent = `in ${r.body.file}`;
  } else {
    $('edit-result').textContent = 'not saved: see the marked fields';
    showServerErrors(r.body.detail);
  }
  load();
}
$('article-form').onsubmit = ev => { ev.preventDefault(); save(); };
$('article-form').addEventListener('input', ev => {  // a field being corrected loses its mark
  const input = ev.target;
  if (!input.hasAttribute('aria-invalid')) return;
  input.removeAttribute('aria-invalid');
  const error = input.getAttribute('aria-describedby');
  if (error && $(error)) $(error).textContent = '';
});
$('load').onclick = loadArticle;
$('edit-id').onkeydown = ev => { if (ev.key === 'Enter') { ev.preventDefault(); loadArticle(); } };  // Enter loads
$('new-article').onclick = newArticle;
$('add-lang').onclick = () => {
  const code = $('add-lang-code').value.trim().toLowerCase();
  $('err-add-lang').textContent = /^[a-z]{2,8}$/.test(code) ? '' : 'a language code is 2 to 8 letters: zh, ja, fr';
  if ($('err-add-lang').textContent) return;
  addLanguage(code).focus();
  $('add-lang-code').value = '';
};
$('delete').onclick = async () => {
  const id = $('edit-id').value.trim();
  if (!id || !confirm(`Delete the article ${id}? It is removed from its file at once.`)) return;
  const r = await hotline.request(articleUrl(), 'DELETE');
  $('edit-result').textContent = r.ok ? 'deleted' : hotline.detail(r.body);
  load();
};

// --- try a sentence: which article, its score against the thresholds, and the words in common
function highlight(sentence, words) {
  let html = esc(sentence);
  for (const w of words.filter(x => !x.startsWith('~')).sort((a, b) => b.length - a.length)) {
    html = html.split(esc(w)).join(`\u0000${esc(w)}\u0001`);
  }
  return html.split('\u0000').join('<mark>').split('\u0001').join('</mark>');
}
function explain(sentence, body) {
  const t = body.thresholds;
  const best = body.ranked[0];
  const words = best ? [].concat(...Object.values(best.matched)) : [];
  const fmt = x => Number(x).toFixed(3);
  const rows = body.ranked.map((a, i) => `<tr data-article="${esc(a.article)}"><td>${i + 1}</td>
    <td><a href="#editor" data-open="${esc(a.article)}">${esc(a.title)}</a> <span class="file">${esc(a.article)}</span></td>
    <td>${fmt(a.score)}</td><td>${Object.entries(a.matched).map(([f, ws]) => `${esc(f)}: ${ws.map(w => (w.startsWith('~')
      ? `<i title="a word of this meaning">≈${esc(w.slice(1))}</i>` : esc(w))).join(', ')}`).join('; ') || '-'}</td></tr>`).join('');
  $('try-explain').innerHTML = `<p class="verdict ${body.suggestion ? 'shown' : 'withheld'}">${esc(body.reason)}</p>
    <p>Sentence: ${highlight(sentence, [...new Set(words)])}</p>
    <table><thead><tr><th>#</th><th>Article</th><th>Score</th><th>Words in common (by field)</th></tr></thead>
    <tbody>${rows}</tbody></table>
    <p class="hint">A card is shown when the best score is at least ${fmt(t.min_score)} and above 0, and it leads the
    second by at least ${fmt(t.min_margin)} and ${(100 * t.min_relative_margin).toFixed(0)} % of its own score
    (here ${fmt(t.needed_lead)}). Scores mix shared words (title and tags count most), spelling-tolerant letter
    groups and, in English, closeness in meaning; ≈ marks a word of the same meaning.</p>`;
  for (const a of document.querySelectorAll('#try-explain a[data-open]')) {
    a.onclick = ev => { ev.preventDefault(); $('edit-id').value = a.dataset.open; loadArticle(); };
  }
}
$('try-form').onsubmit = async ev => {
  ev.preventDefault();
  const sentence = $('try-text').value;
  const q = new URLSearchParams({text: sentence, language: $('try-lang').value});
  const r = await hotline.request(`/api/knowledge/suggest?${q}`);
  const body = r.body;
  if (!r.ok) { $('try-result').textContent = hotline.detail(body); $('try-explain').replaceChildren(); return; }
  $('try-result').textContent = (body.suggestion ? `${body.suggestion} (confidence ${body.confidence})`
    : 'no suggestion') + ' - ranked: ' + body.ranked.map(x => `${x.article} ${x.score}`).join(', ');
  explain(sentence, body);
};
$('days').onchange = load;
fill({});
load();
