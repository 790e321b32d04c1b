/* Veracity front end — vanilla ES2020, no dependencies. */
'use strict';
(() => {
  const KEY_STORE = 'veracity.apiKey';
  const MAX_PARALLEL = 2;
  const $ = (sel, root = document) => root.querySelector(sel);
  let caveat = '';                // what the model card says a verdict cannot be trusted on
  const files = new WeakMap();   // card -> File
  const urls = new WeakMap();    // card -> object URL
  let apiKey = sessionStorage.getItem(KEY_STORE) || '';
  let modelFailed = false;
  let seq = 0;

  const results = $('#results'), keyForm = $('#key-form'), keyInput = $('#api-key'), keyMsg = $('#key-msg');
  const thresholdInput = $('#threshold-input'), clearBtn = $('#clear-results'), emptyNote = $('#empty-note');

  /* ---------- helpers ---------- */
  const clamp01 = (n) => Math.min(1, Math.max(0, Number(n) || 0));
  const fmtNum = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(4));
  const LABELS = { auc: 'AUC', eer: 'EER', ap: 'Average precision', lr: 'Learning rate', train_images: 'Training images',
    val_images: 'Validation images', bgr: 'BGR channel order' };
  function label(key) {
    if (LABELS[key]) return LABELS[key];
    const m = /^tpr_at_fpr_1e(\d+)$/.exec(key);
    if (m) return `TPR @ FPR 1e-${m[1]}`;
    const s = key.replace(/_/g, ' ');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  /* ---------- API ---------- */
  class ApiError extends Error {
    constructor(status, title, detail = '', retryAfter = null) {
      super(title);
      Object.assign(this, { status, title, detail, retryAfter });
    }
  }
  function parseRetryAfter(v) {
    if (!v) return null;
    if (/^\s*\d+\s*$/.test(v)) return Number(v);
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : Math.max(0, Math.ceil((t - Date.now()) / 1000));
  }
  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set('Accept', 'application/json, application/problem+json');
    if (apiKey) headers.set('Authorization', `Bearer ${apiKey}`);
    let res;
    try {
      res = await fetch(path, { ...options, headers });
    } catch {
      throw new ApiError(0, 'Network error', 'The server could not be reached. Is it still running?');
    }
    const type = res.headers.get('Content-Type') || '';
    let body = null;
    try { body = type.includes('json') ? await res.json() : await res.text(); } catch { body = null; }
    if (!res.ok) {
      const p = (body && typeof body === 'object') ? body : {};
      const detail = p.detail || (typeof body === 'string' ? body.trim().slice(0, 300) : '');
      throw new ApiError(res.status, p.title || res.statusText || `HTTP ${res.status}`, detail,
        parseRetryAfter(res.headers.get('Retry-After')));
    }
    if (!body || typeof body !== 'object') throw new ApiError(res.status, 'Unexpected response', 'The server did not return JSON.');
    return body;
  }
  function describeError(err) {
    if (!(err instanceof ApiError)) err = new ApiError(0, 'Unexpected error', String((err && err.message) || err));
    const wait = err.retryAfter != null ? `retry in ${err.retryAfter} s` : 'retry in a moment';
    let hint = '';
    if (err.status === 401) { needKey(); hint = 'An API key is required: enter it in the header, then retry.'; }
    else if (err.status === 503) hint = `Server busy, ${wait}.`;
    else if (err.status === 429) hint = `Rate limited, ${wait}.`;
    return { title: err.title, detail: err.detail, hint };
  }
  function errorNodes(err, prefix) {
    const d = describeError(err);
    const nodes = [h('strong', { text: prefix ? `${prefix}: ${d.title}` : d.title })];
    if (d.detail) nodes.push(' ', h('span', { class: 'error-detail', text: d.detail }));
    if (d.hint) nodes.push(' ', h('span', { class: 'error-hint', text: d.hint }));
    return nodes;
  }

  // Simple concurrency limiter so many dropped files don't flood the server.
  let active = 0;
  const waiting = [];
  function limit(fn) {
    return new Promise((resolve, reject) => {
      const run = () => {
        active++;
        fn().then(resolve, reject).finally(() => { active--; const next = waiting.shift(); if (next) next(); });
      };
      if (active < MAX_PARALLEL) run(); else waiting.push(run);
    });
  }
  function formFor(file, withThreshold) {
    const fd = new FormData();
    fd.append('image', file, file.name);
    if (withThreshold && thresholdInput.value !== '' && thresholdInput.validity.valid) fd.append('threshold', thresholdInput.value);
    return fd;
  }

  /* ---------- API key ---------- */
  function needKey() {
    keyForm.hidden = false;
    keyMsg.textContent = apiKey ? 'The API key was not accepted. Enter a valid key.' : 'This server requires an API key.';
  }
  keyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    apiKey = keyInput.value.trim();
    if (apiKey) sessionStorage.setItem(KEY_STORE, apiKey); else sessionStorage.removeItem(KEY_STORE);
    keyMsg.textContent = apiKey ? 'Key saved for this session. Retrying failed images…' : 'Key cleared.';
    if (modelFailed) loadModel();
    retryFailed();
  });
  $('#key-forget').addEventListener('click', () => {
    apiKey = ''; keyInput.value = ''; sessionStorage.removeItem(KEY_STORE);
    keyMsg.textContent = 'Key forgotten.';
  });
  if (apiKey) { keyForm.hidden = false; keyInput.value = apiKey; }

  /* ---------- cards ---------- */
  function addCard(file) {
    const id = `r${++seq}`;
    const url = URL.createObjectURL(file);
    const card = h('li', { class: 'result', 'data-name': file.name, 'data-state': 'scoring', 'aria-labelledby': `${id}-name` },
      h('h3', { class: 'name', id: `${id}-name`, text: file.name }),
      h('div', { class: 'media' },
        h('img', { class: 'thumb', src: url, alt: file.name }),
        h('img', { class: 'heatmap', alt: `Heatmap overlay for ${file.name}`, hidden: true })),
      h('p', { class: 'status' }),
      h('div', { class: 'score', hidden: true },
        h('p', { class: 'prob-line' }, 'Fake probability: ', h('span', { class: 'probability' })),
        h('div', { class: 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 1, 'aria-label': 'Fake probability' },
          h('div', { class: 'bar-fill' }), h('div', { class: 'bar-mark', 'aria-hidden': 'true' })),
        h('p', { class: 'verdict' }),
        h('p', { class: 'caveat muted small', hidden: true }),
        h('p', { class: 'meta' })),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'heatmap-toggle', 'aria-pressed': 'false', disabled: true, text: 'Show heatmap' }),
        h('button', { type: 'button', class: 'retry secondary', hidden: true, text: 'Retry' })),
      h('div', { class: 'error', role: 'alert' }));
    files.set(card, file);
    urls.set(card, url);
    return card;
  }

  function resetCard(card) {
    card.dataset.state = 'scoring';
    delete card.dataset.heatmap; delete card.dataset.verdict;
    $('.status', card).textContent = 'Scoring…';
    $('.score', card).hidden = true;
    $('.error', card).replaceChildren();
    $('.retry', card).hidden = true;
    const toggle = $('.heatmap-toggle', card), heat = $('.heatmap', card);
    toggle.disabled = true; toggle.setAttribute('aria-pressed', 'false');
    heat.hidden = true; heat.onload = heat.onerror = null; heat.removeAttribute('src');
    $('.thumb', card).hidden = false;
  }

  function renderScore(card, r) {
    const p = clamp01(r.fake_probability);
    const t = Number(r.threshold);
    const fake = r.verdict ? String(r.verdict).toLowerCase() === 'deepfake' : p >= t;
    $('.probability', card).textContent = p.toFixed(3);
    const bar = $('.bar', card);
    bar.setAttribute('aria-valuenow', p.toFixed(3));
    bar.setAttribute('aria-valuetext', `${(p * 100).toFixed(1)}% probability of being a deepfake`);
    bar.classList.toggle('is-fake', fake);
    $('.bar-fill', card).style.width = `${(p * 100).toFixed(1)}%`;
    const mark = $('.bar-mark', card);
    mark.hidden = !Number.isFinite(t);
    if (Number.isFinite(t)) mark.style.left = `${(clamp01(t) * 100).toFixed(1)}%`;
    const verdict = $('.verdict', card);
    verdict.className = `verdict ${fake ? 'verdict-fake' : 'verdict-real'}`;
    verdict.replaceChildren(h('span', { class: 'icon', 'aria-hidden': 'true', text: fake ? '⚠' : '✓' }), ' ',
      h('span', { text: fake ? 'Likely deepfake' : 'Likely real' }));
    card.dataset.verdict = fake ? 'deepfake' : 'real';
    const caveatLine = $('.caveat', card);
    caveatLine.textContent = caveat;
    caveatLine.hidden = !caveat;
    const meta = [Number.isFinite(t) ? `Threshold: ${t.toFixed(4)}` : null,
      r.width && r.height ? `${r.width} × ${r.height} px` : null,
      Number.isFinite(r.elapsed_ms) ? `${Math.round(r.elapsed_ms)} ms` : null].filter(Boolean);
    $('.meta', card).textContent = meta.join(' · ');
    renderFaces(card, r);
    $('.score', card).hidden = false;
  }

  /* Face boxes over the picture (an SVG in the picture's own pixels, fitted like the image), and the same in words. */
  function renderFaces(card, r) {
    const media = $('.media', card);
    media.querySelector('svg.faces')?.remove();
    $('.face-list', card)?.remove();
    if (!Array.isArray(r.faces) || !r.width || !r.height) return;
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'faces');
    svg.setAttribute('viewBox', `0 0 ${r.width} ${r.height}`);
    svg.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    svg.setAttribute('aria-hidden', 'true');
    const stroke = Math.max(2, Math.round(Math.max(r.width, r.height) / 150));
    for (const f of r.faces) {
      const rect = document.createElementNS(NS, 'rect');
      for (const [k, v] of Object.entries({ x: f.x, y: f.y, width: f.width, height: f.height, 'stroke-width': stroke }))
        rect.setAttribute(k, String(v));
      rect.setAttribute('class', f.fake_probability >= r.threshold ? 'face-fake' : 'face-real');
      const label = document.createElementNS(NS, 'text');
      label.setAttribute('x', String(f.x));
      label.setAttribute('y', String(Math.max(stroke * 6, f.y - stroke)));
      label.setAttribute('font-size', String(stroke * 6));
      label.textContent = Number(f.fake_probability).toFixed(2);
      svg.append(rect, label);
    }
    media.append(svg);
    const words = r.faces.length === 0 ? 'No usable face: the whole picture was scored.'
      : `${r.faces.length} face${r.faces.length > 1 ? 's' : ''} scored: ` +
        r.faces.map((f, i) => `face ${i + 1} ${Number(f.fake_probability).toFixed(3)}`).join(', ') + '.';
    $('.score', card).append(h('p', { class: 'face-list', text: words }));
  }

  function loadHeatmap(card, png) {
    return new Promise((resolve, reject) => {
      const img = $('.heatmap', card);
      img.onload = () => { card.dataset.heatmap = 'ready'; $('.heatmap-toggle', card).disabled = false; resolve(); };
      img.onerror = () => reject(new ApiError(0, 'Heatmap could not be displayed', 'The overlay image is not a valid PNG.'));
      img.src = png.startsWith('data:') ? png : `data:image/png;base64,${png}`;
    });
  }

  function fail(card, err, prefix) {
    $('.error', card).replaceChildren(...errorNodes(err, prefix));
    $('.status', card).textContent = '';
    $('.retry', card).hidden = false;
  }

  async function processCard(card) {
    const file = files.get(card); if (!file) return;
    resetCard(card);
    let result;
    try {
      const data = await limit(() => api('api/v1/score', { method: 'POST', body: formFor(file, true) }));
      result = Array.isArray(data.results) ? data.results[0] : null;
      if (!result) throw new ApiError(0, 'Unexpected response', 'The server returned no result for this image.');
    } catch (err) { card.dataset.state = 'error'; fail(card, err); return; }
    renderScore(card, result);
    card.dataset.state = 'scored';
    $('.status', card).textContent = 'Computing heatmap…';
    try {
      const ex = await limit(() => api('api/v1/explain?format=json', { method: 'POST', body: formFor(file, false) }));
      if (!ex.overlay_png) throw new ApiError(0, 'No heatmap', 'The server returned no overlay image.');
      await loadHeatmap(card, ex.overlay_png);
      $('.status', card).textContent = '';
    } catch (err) {
      card.dataset.heatmap = 'error';
      fail(card, err, 'Heatmap unavailable');
    }
  }

  function retryFailed() {
    document.querySelectorAll('.result[data-state="error"], .result[data-heatmap="error"]').forEach(processCard);
  }

  function addFiles(list) {
    const picked = Array.from(list || []);
    if (!picked.length) return;
    for (const file of picked) {
      const card = addCard(file);
      results.append(card);
      processCard(card);
    }
    emptyNote.hidden = true; clearBtn.hidden = false;
  }

  results.addEventListener('click', (e) => {
    const btn = e.target.closest('button');
    const card = btn && btn.closest('.result');
    if (!card) return;
    if (btn.classList.contains('retry')) processCard(card);
    else if (btn.classList.contains('heatmap-toggle') && card.dataset.heatmap === 'ready') {
      const on = btn.getAttribute('aria-pressed') !== 'true';
      btn.setAttribute('aria-pressed', String(on));
      $('.heatmap', card).hidden = !on;
      $('.thumb', card).hidden = on;
    }
  });

  clearBtn.addEventListener('click', () => {
    for (const card of results.querySelectorAll('.result')) URL.revokeObjectURL(urls.get(card));
    results.replaceChildren();
    emptyNote.hidden = false; clearBtn.hidden = true;
    $('#file-input').focus();
  });

  /* ---------- file input + drag and drop ---------- */
  const input = $('#file-input'), zone = $('#dropzone');
  input.addEventListener('change', () => { addFiles(input.files); input.value = ''; });
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; zone.classList.add('dragging');
  });
  document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) zone.classList.remove('dragging'); });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); zone.classList.remove('dragging');
    addFiles(e.dataTransfer.files);
  });

  /* ---------- model card ---------- */
  function valueNode(v) {
    if (v === null || v === undefined) return 'not available';
    if (typeof v === 'number') return fmtNum(v);
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) {
      return v.map((x) => (typeof x === 'number' ? fmtNum(x) : String(x))).join(', ');
    }
    if (typeof v === 'object') {
      const ul = h('ul', { class: 'kv-list' });
      for (const [k, x] of Object.entries(v)) ul.append(h('li', {}, h('span', { class: 'k', text: `${label(k)}: ` }), valueNode(x)));
      return ul;
    }
    return String(v);
  }
  function renderModel(m) {
    const dl = h('dl', { class: 'kv' });
    const add = (k, v) => { if (v !== undefined) dl.append(h('dt', { text: k }), h('dd', {}, v instanceof Node ? v : valueNode(v))); };
    add('Backbone', m.backbone);
    add('Input size', m.image_size ? `${m.image_size} × ${m.image_size} px` : undefined);
    add('Engine', m.engine);
    add('Threshold', typeof m.threshold === 'number' ? m.threshold.toFixed(4) : m.threshold);
    add('Validation', m.validation);
    add('Training data', m.training);
    add('Normalization', m.normalize);
    add('Initial weights', m.initial_weights);
    if (m.saved_at) {
      const d = new Date(m.saved_at);
      add('Saved', h('time', { datetime: m.saved_at, text: Number.isNaN(d.getTime()) ? m.saved_at : d.toLocaleString() }));
    }
    const known = ['backbone', 'image_size', 'engine', 'threshold', 'validation', 'training', 'normalize', 'initial_weights', 'saved_at'];
    for (const [k, v] of Object.entries(m)) if (!known.includes(k)) add(label(k), v);
    return dl;
  }
  async function loadModel() {
    const body = $('#model-body');
    try {
      const m = await api('api/v1/model');
      modelFailed = false;
      // The built-in detector says what it was trained on and where it is not reliable, beside every verdict.
      caveat = m.trained_on ? `Trained on ${m.trained_on}; not reliable on ${m.not_reliable_on}.` : '';
      body.replaceChildren(renderModel(m));
      if (typeof m.threshold === 'number') thresholdInput.placeholder = m.threshold.toFixed(4);
    } catch (err) {
      modelFailed = true;
      body.replaceChildren(h('div', { class: 'error', role: 'alert' }, ...errorNodes(err, 'Model info unavailable')));
    }
  }

  loadModel();
})();
