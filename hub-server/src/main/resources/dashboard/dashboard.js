// AIP Hub dashboard. Plain DOM code, no dependencies, no build step.
//
// Security rules this file keeps:
//  - every string that came from the hub (and so possibly from a client) is put on the page as
//    text (textContent, createTextNode, option.text, dataset): never through innerHTML;
//  - nothing is evaluated and no inline style or script is created (the page's CSP forbids both);
//  - the operator key (admin_key, or api_key on a hub without one) lives in sessionStorage (this
//    tab only) and is sent in the X-API-Key header;
//  - an id (client, session, target) holding anything but printable ASCII, which only a hub with
//    unicode_ids allows, is shown with its \uXXXX escapes beside it (idCell), so two ids that
//    render alike still read differently.
'use strict';

(function () {
  const KEY_STORE = 'aiphub.apiKey';
  const MAX_SESSIONS = 500; // kept in memory: every running one plus the newest finished
  const SHOWN_SESSIONS = 200; // rows in the sessions table
  const SHOWN_DEVICES = 500; // rows in the devices table: beyond that, filter
  const SERIES_MAX = 150; // chart points: five minutes at one every two seconds
  const STALE_MS = 45000; // the hub sends a keepalive every 15 s: silence this long means a dead feed
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const STATES = ['running', 'completed', 'failed', 'cancelled'];

  const $ = (id) => document.getElementById(id);

  let apiKey = null;
  let generation = 0; // bumped on logout: an older feed loop or fetch sees it and stops
  let feedAbort = null;
  let detailId = null;
  let detailGeneration = 0;
  let renderTimer = null;
  const dirty = new Set();

  const state = {
    devices: new Map(),
    constellations: new Map(),
    sessions: new Map(),
    totals: {},
    series: [],
  };

  // ------------------------------------------------------------------------------ helpers

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function cell(text, className) {
    return el('td', className, text === undefined || text === null || text === '' ? '—' : text);
  }

  // The \uXXXX-escaped form of an id holding anything but printable ASCII; null for other ids.
  function escapedId(id) {
    if (typeof id !== 'string' || /^[\x20-\x7e]*$/.test(id)) return null;
    let out = '';
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      out += c >= 0x20 && c < 0x7f ? id[i] : '\\u' + c.toString(16).padStart(4, '0');
    }
    return out;
  }

  function idCell(id, fallback) {
    const td = cell(id === null || id === undefined ? fallback : id, 'id');
    appendEscaped(td, id);
    return td;
  }

  function appendEscaped(parent, id) {
    const escaped = escapedId(id);
    if (escaped !== null) parent.appendChild(el('div', 'muted escaped-id', escaped));
  }

  function chips(values) {
    const td = el('td');
    const list = Array.isArray(values) ? values : [];
    if (list.length === 0) td.textContent = '—';
    for (const v of list) td.appendChild(el('span', 'chip', v));
    return td;
  }

  // AIP timestamps carry microseconds; keep milliseconds so every browser parses them.
  function parseTime(s) {
    if (typeof s !== 'string') return NaN;
    return Date.parse(s.replace(/(\.\d{3})\d+/, '$1'));
  }

  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }

  function clock(ms) {
    const d = new Date(ms);
    const time = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return time;
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + time;
  }

  function span(ms) {
    if (!isFinite(ms) || ms < 0) ms = 0;
    if (ms < 1000) return Math.round(ms) + ' ms';
    const s = Math.floor(ms / 1000);
    if (s < 60) return (ms / 1000).toFixed(s < 10 ? 1 : 0) + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + (s % 60) + 's';
    const h = Math.floor(m / 60);
    if (h < 24) return h + 'h ' + (m % 60) + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }

  function ago(ms) {
    const d = Date.now() - ms;
    return d < 1500 ? 'just now' : span(d) + ' ago';
  }

  // A cell showing a moment: "14:03:22 (3m 12s ago)"; the periodic tick refreshes the "ago".
  function timeCell(iso, withClock) {
    const ms = parseTime(iso);
    if (!isFinite(ms)) return cell(null, 'when');
    const td = el('td', 'when');
    td.dataset.at = String(ms);
    td.dataset.clock = withClock ? clock(ms) : '';
    td.title = iso;
    td.textContent = timeText(td);
    return td;
  }

  function timeText(td) {
    const rel = ago(Number(td.dataset.at));
    return td.dataset.clock ? td.dataset.clock + ' (' + rel + ')' : rel;
  }

  function shorten(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }

  function api(path, signal) {
    return fetch(path, {
      headers: { 'X-API-Key': apiKey, Accept: 'application/json' },
      cache: 'no-store',
      signal: signal,
    });
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // --------------------------------------------------------------------------- key prompt

  function showLogin(message) {
    $('app').hidden = true;
    $('login').hidden = false;
    const err = $('key-error');
    err.textContent = message || '';
    err.hidden = !message;
    $('key-submit').disabled = false;
    $('key-input').focus();
  }

  // Asks the hub whether the key is good: 'ok', or a message for the prompt.
  async function checkKey(key) {
    let resp;
    try {
      resp = await fetch('api/stats', {
        headers: { 'X-API-Key': key, Accept: 'application/json' },
        cache: 'no-store',
      });
    } catch (e) {
      return /^[\x20-\x7e]*$/.test(key)
        ? 'The hub cannot be reached.'
        : 'The key holds characters that cannot be sent in a header.';
    }
    if (resp.ok) return 'ok';
    // A hub with an operator key (admin_key) refuses the client key (api_key) here, with the same
    // answer as a wrong key; its error text says which key the dashboard needs.
    let why =
      resp.status === 401 ? 'The hub refused this key.' : 'The hub answered HTTP ' + resp.status + '.';
    try {
      const body = await resp.json();
      if (body && typeof body.error === 'string') why += ' ' + body.error;
    } catch (e) {
      // not JSON: the status says enough
    }
    return why;
  }

  async function login(key) {
    $('key-submit').disabled = true;
    const verdict = await checkKey(key);
    if (verdict !== 'ok') {
      sessionStorage.removeItem(KEY_STORE);
      showLogin(verdict);
      return;
    }
    sessionStorage.setItem(KEY_STORE, key);
    apiKey = key;
    $('key-input').value = '';
    $('key-error').hidden = true;
    $('login').hidden = true;
    $('app').hidden = false;
    const gen = ++generation;
    runFeed(gen);
  }

  function logout(message) {
    generation++;
    if (feedAbort) feedAbort.abort();
    feedAbort = null;
    apiKey = null;
    sessionStorage.removeItem(KEY_STORE);
    clearData();
    showLogin(message);
  }

  function clearData() {
    state.devices.clear();
    state.constellations.clear();
    state.sessions.clear();
    state.totals = {};
    state.series = [];
    for (const id of ['devices', 'constellations', 'sessions']) {
      $(id).tBodies[0].replaceChildren();
    }
    closeDetail();
    markDirty('devices', 'constellations', 'sessions', 'totals', 'chart');
  }

  // ---------------------------------------------------------------------------- live feed

  function setStatus(kind, text) {
    const s = $('feed-status');
    s.className = 'feed-status ' + kind;
    s.textContent = text;
  }

  // Reads GET /api/events until logout: EventSource cannot send the key header, so this is
  // fetch() and a stream reader. When the feed ends, it reconnects with backoff; every new
  // connection starts with a full snapshot.
  async function runFeed(gen) {
    let backoff = BACKOFF_MIN_MS;
    while (gen === generation) {
      const controller = new AbortController();
      feedAbort = controller;
      setStatus('', 'connecting');
      try {
        const resp = await api('api/events', controller.signal);
        if (gen !== generation) return;
        if (resp.status === 401) {
          logout('The hub no longer accepts this key.');
          return;
        }
        if (!resp.ok || !resp.body) throw new Error('HTTP ' + resp.status);
        await readEvents(resp.body, controller, (msg) => {
          if (gen !== generation) return;
          if (msg.type === 'snapshot') {
            backoff = BACKOFF_MIN_MS;
            setStatus('live', 'live');
          }
          apply(msg);
        });
      } catch (e) {
        // network error, abort or a bad answer: reconnect below
      }
      if (gen !== generation) return;
      const wait = backoff + Math.floor(Math.random() * 300);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      setStatus('down', 'reconnecting in ' + Math.ceil(wait / 1000) + ' s');
      await sleep(wait);
    }
  }

  // Splits a text/event-stream into events; calls onMessage with each event's parsed JSON data.
  async function readEvents(body, controller, onMessage) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let data = [];
    let watchdog = setTimeout(() => controller.abort(), STALE_MS);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), STALE_MS);
        const scanFrom = buffer.length;
        buffer += decoder.decode(value, { stream: true });
        let start = 0;
        let nl = buffer.indexOf('\n', scanFrom);
        while (nl >= 0) {
          let line = buffer.slice(start, nl);
          start = nl + 1;
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (data.length > 0) {
              const text = data.join('\n');
              data = [];
              let msg = null;
              try {
                msg = JSON.parse(text);
              } catch (e) {
                msg = null; // a torn or foreign event: skip it
              }
              if (msg && typeof msg === 'object') onMessage(msg);
            }
          } else if (line.startsWith('data:')) {
            data.push(line.charAt(5) === ' ' ? line.slice(6) : line.slice(5));
          } // ':' comments (keepalives) and other fields are ignored
          nl = buffer.indexOf('\n', start);
        }
        buffer = buffer.slice(start);
      }
    } finally {
      clearTimeout(watchdog);
      reader.cancel().catch(() => {});
    }
  }

  // ------------------------------------------------------------------------------- state

  function apply(msg) {
    if (msg.type === 'snapshot') {
      state.devices.clear();
      state.constellations.clear();
      state.sessions.clear();
      for (const d of list(msg.devices)) putClient(d, 'device');
      for (const c of list(msg.constellations)) putClient(c, 'constellation');
      for (const s of list(msg.sessions)) putSession(s);
      state.series = list(msg.series).slice(-SERIES_MAX);
      if (detailId !== null && !state.devices.has(detailId)) detailGone();
      markDirty('devices', 'constellations', 'sessions', 'chart');
    } else if (msg.type === 'delta') {
      for (const c of list(msg.clients)) {
        if (!c || typeof c.id !== 'string') continue;
        if (c.gone) {
          state.devices.delete(c.id);
          state.constellations.delete(c.id);
          if (c.id === detailId) detailGone();
        } else {
          putClient(c, c.type);
        }
      }
      for (const s of list(msg.sessions)) putSession(s);
      trimSessions();
      markDirty('devices', 'constellations', 'sessions');
    } else if (msg.type === 'sample') {
      if (msg.sample && typeof msg.sample === 'object') {
        state.series.push(msg.sample);
        if (state.series.length > SERIES_MAX) state.series.splice(0, state.series.length - SERIES_MAX);
      }
      markDirty('chart');
    } else {
      return;
    }
    if (msg.totals && typeof msg.totals === 'object') {
      state.totals = msg.totals;
      markDirty('totals');
    }
  }

  function list(v) {
    return Array.isArray(v) ? v : [];
  }

  function putClient(c, type) {
    if (!c || typeof c.id !== 'string') return;
    if (type === 'constellation') {
      state.devices.delete(c.id);
      state.constellations.set(c.id, c);
    } else {
      state.constellations.delete(c.id);
      state.devices.set(c.id, c);
    }
  }

  // One row per run: a finished session id may be reused (by anyone), and each run is its own
  // record with its own request and result, never the other's.
  function sessionKey(s) {
    return s.session_id + '#' + String(s.run);
  }

  function putSession(s) {
    if (!s || typeof s.session_id !== 'string') return;
    s._seen = Date.now(); // running durations grow from here, on the browser's clock
    state.sessions.set(sessionKey(s), s);
  }

  function trimSessions() {
    if (state.sessions.size <= MAX_SESSIONS) return;
    const finished = [...state.sessions.values()]
      .filter((s) => s.state !== 'running')
      .sort((a, b) => endedAt(a) - endedAt(b));
    for (const s of finished) {
      if (state.sessions.size <= MAX_SESSIONS) break;
      state.sessions.delete(sessionKey(s));
    }
  }

  function endedAt(s) {
    const t = parseTime(s.ended_at || s.created_at);
    return isFinite(t) ? t : 0;
  }

  // ------------------------------------------------------------------------------ render

  function markDirty(...parts) {
    for (const p of parts) dirty.add(p);
    if (renderTimer === null) renderTimer = setTimeout(render, 30);
  }

  function render() {
    renderTimer = null;
    if (dirty.has('totals')) renderTotals();
    if (dirty.has('devices')) renderDevices();
    if (dirty.has('constellations')) renderConstellations();
    if (dirty.has('sessions')) renderSessions();
    if (dirty.has('chart')) drawChart();
    dirty.clear();
  }

  function renderTotals() {
    for (const k of ['devices', 'constellations', 'running', 'completed', 'failed', 'cancelled']) {
      const v = state.totals[k];
      $('total-' + k).textContent = typeof v === 'number' ? String(v) : '0';
    }
  }

  function byId(a, b) {
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  function strings(v) {
    return Array.isArray(v) ? v.map((x) => String(x)) : [];
  }

  // Refills a filter's options when the set of values changed, keeping the selection.
  function syncOptions(select, values) {
    const sorted = [...values].sort();
    const signature = JSON.stringify(sorted);
    if (select.dataset.signature === signature) return;
    select.dataset.signature = signature;
    const current = select.value;
    const options = [new Option('all', '')];
    for (const v of sorted) options.push(new Option(v, v));
    if (current && !values.has(current)) options.push(new Option(current + ' (none now)', current));
    select.replaceChildren(...options);
    select.value = current;
  }

  function renderDevices() {
    const devices = [...state.devices.values()].sort(byId);
    const platforms = new Set();
    const tags = new Set();
    const features = new Set();
    for (const d of devices) {
      if (d.platform !== undefined && d.platform !== null) platforms.add(String(d.platform));
      for (const t of strings(d.tags)) tags.add(t);
      for (const f of strings(d.features)) features.add(f);
    }
    syncOptions($('filter-platform'), platforms);
    syncOptions($('filter-tag'), tags);
    syncOptions($('filter-feature'), features);
    const platform = $('filter-platform').value;
    const tag = $('filter-tag').value;
    const feature = $('filter-feature').value;

    const matching = devices.filter(
      (d) =>
        (!platform || String(d.platform) === platform) &&
        (!tag || strings(d.tags).includes(tag)) &&
        (!feature || strings(d.features).includes(feature)),
    );
    const rows = matching.slice(0, SHOWN_DEVICES).map(deviceRow);
    $('devices').tBodies[0].replaceChildren(...rows);
    $('devices-empty').hidden = rows.length > 0;
    let count = '(' + devices.length + ')';
    if (rows.length < matching.length) {
      count = '(first ' + rows.length + ' of ' + matching.length + ' matching, ' + devices.length + ' in all)';
    } else if (matching.length < devices.length) {
      count = '(' + matching.length + ' of ' + devices.length + ')';
    }
    $('devices-count').textContent = count;
  }

  function deviceRow(d) {
    const tr = el('tr');
    tr.dataset.id = d.id;
    if (d.id === detailId) tr.className = 'selected';
    const idCell = el('td', 'id');
    const button = el('button', 'link', d.id);
    button.type = 'button';
    button.title = 'Show system info';
    idCell.appendChild(button);
    appendEscaped(idCell, d.id);
    if (typeof d.node === 'string') idCell.appendChild(el('div', 'muted', 'node ' + d.node));
    tr.appendChild(idCell);
    tr.appendChild(cell(d.platform));
    tr.appendChild(chips(strings(d.tags)));
    tr.appendChild(cell(d.tier));
    tr.appendChild(chips(strings(d.features)));
    tr.appendChild(timeCell(d.connected_at, true));
    const running = typeof d.running === 'number' ? d.running : 0;
    const limit = typeof d.limit === 'number' ? d.limit : null;
    const load = cell(running + ' / ' + (limit === null ? '∞' : limit), 'num');
    if (limit !== null && running >= limit) load.classList.add('full');
    tr.appendChild(load);
    tr.appendChild(d.last_heartbeat ? timeCell(d.last_heartbeat, false) : cell('none yet', 'when'));
    return tr;
  }

  function renderConstellations() {
    const all = [...state.constellations.values()].sort(byId);
    const rows = all.map((c) => {
      const tr = el('tr');
      tr.dataset.id = c.id;
      tr.appendChild(idCell(c.id));
      const target = idCell(c.target, 'any device');
      target.classList.remove('id');
      tr.appendChild(target);
      tr.appendChild(cell(typeof c.sessions_started === 'number' ? c.sessions_started : 0, 'num'));
      tr.appendChild(cell(typeof c.running === 'number' ? c.running : 0, 'num'));
      tr.appendChild(timeCell(c.connected_at, true));
      tr.appendChild(c.last_heartbeat ? timeCell(c.last_heartbeat, false) : cell('none yet', 'when'));
      return tr;
    });
    $('constellations').tBodies[0].replaceChildren(...rows);
    $('constellations-empty').hidden = rows.length > 0;
    $('constellations-count').textContent = '(' + all.length + ')';
  }

  function sessionOrder(a, b) {
    const ar = a.state === 'running';
    const br = b.state === 'running';
    if (ar !== br) return ar ? -1 : 1;
    return ar ? parseTime(b.created_at) - parseTime(a.created_at) : endedAt(b) - endedAt(a);
  }

  function renderSessions() {
    const wanted = $('filter-state').value;
    const all = [...state.sessions.values()];
    const matching = all.filter((s) => !wanted || s.state === wanted).sort(sessionOrder);
    const rows = matching.slice(0, SHOWN_SESSIONS).map(sessionRow);
    $('sessions').tBodies[0].replaceChildren(...rows);
    $('sessions-empty').hidden = rows.length > 0;
    $('sessions-count').textContent =
      matching.length > rows.length
        ? '(newest ' + rows.length + ' of ' + matching.length + ')'
        : '(' + rows.length + (wanted ? ' of ' + all.length : '') + ')';
  }

  function sessionRow(s) {
    const tr = el('tr');
    tr.dataset.id = s.session_id;
    tr.dataset.run = String(s.run);
    const stateCell = el('td');
    const known = STATES.includes(s.state) ? s.state : 'other';
    stateCell.appendChild(el('span', 'state state-' + known, s.state));
    if (s.held_for_owner) stateCell.appendChild(el('span', 'held', 'held'));
    tr.appendChild(stateCell);
    tr.appendChild(idCell(s.session_id));
    const task = el('td');
    task.appendChild(el('div', null, s.task_name === null || s.task_name === undefined ? '—' : s.task_name));
    // Lists carry previews (at most 200 characters each), never whole requests or results.
    if (typeof s.request_preview === 'string') {
      const req = el('div', 'muted', shorten(s.request_preview, 120));
      req.title = s.request_preview;
      task.appendChild(req);
    }
    tr.appendChild(task);
    tr.appendChild(idCell(s.owner, 'HTTP API'));
    tr.appendChild(idCell(s.device));
    tr.appendChild(timeCell(s.created_at, true));
    const dur = el('td', 'num');
    if (s.state === 'running') {
      dur.dataset.from = String(s._seen - (Number(s.duration_ms) || 0));
      dur.textContent = span(Date.now() - Number(dur.dataset.from));
    } else {
      dur.textContent = span(Number(s.duration_ms));
    }
    tr.appendChild(dur);
    if (s.error !== null && s.error !== undefined && s.error !== '') {
      tr.appendChild(cell(s.error, 'error'));
    } else if (s.state === 'completed' && typeof s.result_preview === 'string') {
      const res = cell(shorten(s.result_preview, 120), 'muted');
      res.title = s.result_preview;
      tr.appendChild(res);
    } else {
      tr.appendChild(cell(null));
    }
    return tr;
  }

  // Relative times and running durations age without any message from the hub.
  function tick() {
    if ($('app').hidden) return;
    for (const td of document.querySelectorAll('td[data-at]')) td.textContent = timeText(td);
    for (const td of document.querySelectorAll('td[data-from]')) {
      td.textContent = span(Date.now() - Number(td.dataset.from));
    }
  }

  // ------------------------------------------------------------------------------- chart

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }

  function drawChart() {
    const canvas = $('chart');
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (!w || !h) return;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const css = getComputedStyle(document.documentElement);
    const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const clientsColour = colour('--clients', '#1f6feb');
    const tasksColour = colour('--tasks', '#d9480f');
    const lineColour = colour('--line', '#dde3ea');
    const mutedColour = colour('--muted', '#667585');

    const pts = state.series.filter((p) => p && typeof p.t === 'number');
    const left = 36;
    const right = 44;
    const top = 8;
    const bottom = 20;
    const plotW = Math.max(10, w - left - right);
    const plotH = Math.max(10, h - top - bottom);
    const maxClients = niceMax(Math.max(0, ...pts.map((p) => Number(p.clients) || 0)));
    const maxTasks = niceMax(Math.max(0, ...pts.map((p) => Number(p.tasks_per_second) || 0)));
    const t1 = pts.length ? pts[pts.length - 1].t : Date.now();
    const t0 = pts.length > 1 ? pts[0].t : t1 - 60000;
    const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * plotW;
    const y = (v, max) => top + plotH - (v / max) * plotH;

    ctx.lineWidth = 1;
    ctx.strokeStyle = lineColour;
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = mutedColour;
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const gy = Math.round(top + (plotH * i) / 4) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, gy);
      ctx.lineTo(left + plotW, gy);
      ctx.stroke();
    }
    ctx.textAlign = 'right';
    ctx.fillStyle = clientsColour;
    ctx.fillText(String(maxClients), left - 6, top + 4);
    ctx.fillText('0', left - 6, top + plotH);
    ctx.textAlign = 'left';
    ctx.fillStyle = tasksColour;
    ctx.fillText(String(maxTasks), left + plotW + 6, top + 4);
    ctx.fillText('0', left + plotW + 6, top + plotH);
    ctx.fillStyle = mutedColour;
    ctx.textBaseline = 'alphabetic';
    ctx.textAlign = 'left';
    ctx.fillText(pts.length > 1 ? '−' + span(t1 - t0) : '', left, h - 4);
    ctx.textAlign = 'right';
    ctx.fillText('now', left + plotW, h - 4);

    line(ctx, pts, x, (p) => y(Number(p.clients) || 0, maxClients), clientsColour);
    line(ctx, pts, x, (p) => y(Number(p.tasks_per_second) || 0, maxTasks), tasksColour);
    canvas.dataset.points = String(pts.length);
    $('chart-span').textContent = pts.length > 1 ? 'last ' + span(t1 - t0) : 'collecting samples…';
  }

  function line(ctx, pts, x, y, colour) {
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    if (pts.length === 1) {
      ctx.beginPath();
      ctx.arc(x(pts[0].t), y(pts[0]), 2.5, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.beginPath();
    pts.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.t), y(p)) : ctx.lineTo(x(p.t), y(p))));
    ctx.stroke();
  }

  // ------------------------------------------------------------------------- device detail

  async function showDetail(id) {
    detailId = id;
    const gen = ++detailGeneration;
    $('device-detail').hidden = false;
    $('detail-id').textContent = escapedId(id) === null ? id : id + '  ' + escapedId(id);
    $('detail-note').hidden = true;
    $('detail-json').textContent = 'loading…';
    for (const tr of $('devices').tBodies[0].rows) {
      tr.classList.toggle('selected', tr.dataset.id === id);
    }
    let text;
    let note = null;
    try {
      const resp = await api('api/devices/' + encodeURIComponent(id));
      if (gen !== detailGeneration || apiKey === null) return;
      if (resp.status === 401) {
        logout('The hub no longer accepts this key.');
        return;
      }
      const body = await resp.json();
      if (gen !== detailGeneration) return;
      if (resp.ok) {
        text = JSON.stringify(body, null, 2);
      } else {
        text = '';
        note = body && typeof body.error === 'string' ? body.error : 'HTTP ' + resp.status;
      }
    } catch (e) {
      if (gen !== detailGeneration) return;
      text = '';
      note = 'Could not load the system info.';
    }
    $('detail-json').textContent = text;
    $('detail-note').textContent = note || '';
    $('detail-note').hidden = !note;
  }

  function detailGone() {
    $('detail-note').textContent = 'This device has disconnected; this is what it last reported.';
    $('detail-note').hidden = false;
  }

  function closeDetail() {
    detailId = null;
    detailGeneration++;
    $('device-detail').hidden = true;
    $('detail-json').textContent = '';
    $('detail-id').textContent = '';
    for (const tr of $('devices').tBodies[0].rows) tr.classList.remove('selected');
  }

  // -------------------------------------------------------------------------------- start

  function start() {
    $('key-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const key = $('key-input').value.trim();
      if (key) login(key);
    });
    $('logout').addEventListener('click', () => logout(''));
    $('devices').tBodies[0].addEventListener('click', (e) => {
      const tr = e.target.closest('tr');
      if (tr && tr.dataset.id !== undefined) showDetail(tr.dataset.id);
    });
    $('detail-close').addEventListener('click', closeDetail);
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && detailId !== null) closeDetail();
    });
    for (const id of ['filter-platform', 'filter-tag', 'filter-feature']) {
      $(id).addEventListener('change', () => markDirty('devices'));
    }
    $('filter-state').addEventListener('change', () => markDirty('sessions'));
    window.addEventListener('resize', () => markDirty('chart'));
    setInterval(tick, 1000);

    const saved = sessionStorage.getItem(KEY_STORE);
    if (saved) {
      login(saved); // shows the prompt again if the hub no longer takes it
    } else {
      showLogin('');
    }
  }

  start();
})();
