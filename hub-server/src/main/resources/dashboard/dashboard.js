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
  const SHOWN_DEVICES = 500; // rows in the devices table: beyond that, search or filter
  const SHOWN_CONSTELLATIONS = 500; // rows in the constellations table, likewise
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

  // How the client tables are sorted: a column (natural id order, connected since, running count)
  // and a direction, changed by the column headers' buttons.
  const sorting = {
    devices: { key: 'id', desc: false },
    constellations: { key: 'id', desc: false },
  };
  // The direction a column starts in when chosen: ids A to Z, the newest connection first, the
  // busiest client first. Choosing it again reverses it.
  const FIRST_DESC = { id: false, since: true, running: true };

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
    // Computed once per row update, for searching and sorting (see naturalKey).
    c._lid = c.id.toLowerCase();
    c._key = naturalKey(c.id);
    const since = parseTime(c.connected_at);
    c._since = isFinite(since) ? since : 0;
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

  // ------------------------------------------------------------------- search and sort
  //
  // Searching and sorting happen here in the page, not in the hub. The page already holds every
  // client (the platform, tag and capability choices and the counts need them all), and each one
  // carries what searching and sorting need, computed once when it arrives (putClient): its id in
  // lower case and its natural sort key. A search is then a substring test per client and a sort
  // compares precomputed strings. Measured with 20,000 devices in headless Chromium on a busy
  // 2-core machine (DashboardBrowserTest prints it): searching and sorting take 5-40 ms; the rest
  // of a keystroke is drawing what it shows, under 0.2 s to paint one row and 0.2-1.3 s for 500
  // new rows, with the machine's load (the browser's layout; drawRows keeps rows that did not
  // change). Doing it in the hub
  // instead would make the feed differ per viewer (today each message is encoded once and shared
  // by all) and cost a fresh multi-megabyte snapshot per keystroke, for no less drawing.

  // A key under which plain string order is natural order: case is ignored and each run of digits
  // becomes '0', a character telling its length, then its digits without leading zeros, so that
  // idle_2 sorts before idle_10000 (and a run of digits still sorts where a digit would).
  function naturalKey(id) {
    return id.toLowerCase().replace(/\d+/g, (run) => {
      const digits = run.replace(/^0+(?=\d)/, '');
      return '0' + String.fromCharCode(0x100 + digits.length) + digits;
    });
  }

  // Natural order; ids alike but for case or leading zeros in plain string order.
  function byId(a, b) {
    if (a._key !== b._key) return a._key < b._key ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  function runningOf(c) {
    return typeof c.running === 'number' ? c.running : 0;
  }

  // The order a table's sorting asks for; ties in natural id order.
  function comparator(table) {
    const { key, desc } = sorting[table];
    const sign = desc ? -1 : 1;
    if (key === 'since') return (a, b) => sign * (a._since - b._since) || byId(a, b);
    if (key === 'running') return (a, b) => sign * (runningOf(a) - runningOf(b)) || byId(a, b);
    return (a, b) => sign * byId(a, b);
  }

  // What the operator typed in a table's id search, in lower case ('' for none).
  function searchText(table) {
    return $('search-' + table).value.trim().toLowerCase();
  }

  // The count line of a client table: how many match, and how many are shown when not all.
  function countText(shown, matching, total) {
    if (shown < matching) {
      return matching < total
        ? '(first ' + shown + ' of ' + matching + ' matching, ' + total + ' in all)'
        : '(first ' + shown + ' of ' + total + ')';
    }
    return matching < total ? '(' + matching + ' of ' + total + ' match)' : '(' + total + ')';
  }

  // Marks the sorted column's header (aria-sort, which the style sheet shows as an arrow).
  function showSorting(table) {
    const { key, desc } = sorting[table];
    for (const button of $(table).tHead.querySelectorAll('button.sort')) {
      const th = button.closest('th');
      th.ariaSort = button.dataset.sort === key ? (desc ? 'descending' : 'ascending') : null;
    }
  }

  function sortBy(table, key) {
    const s = sorting[table];
    if (s.key === key) {
      s.desc = !s.desc;
    } else {
      s.key = key;
      s.desc = FIRST_DESC[key] === true;
    }
    showSorting(table);
    markDirty(table);
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

  // The client each shown row was drawn from. A redraw keeps the row of every shown client that
  // has not changed since (a delta replaces a changed client's object) and touches only the rows
  // that are new or moved: after a delta the browser builds and lays out a few rows, not 500.
  const drawnFrom = new WeakMap();

  function drawRows(tbody, clients, build) {
    const kept = new Map();
    for (const tr of tbody.rows) kept.set(drawnFrom.get(tr), tr);
    const rows = clients.map((c) => {
      let tr = kept.get(c);
      if (tr === undefined) {
        tr = build(c);
        drawnFrom.set(tr, c);
      }
      return tr;
    });
    const wanted = new Set(rows);
    for (const tr of [...tbody.rows]) if (!wanted.has(tr)) tr.remove();
    let at = tbody.firstElementChild;
    for (const tr of rows) {
      if (tr === at) {
        at = at.nextElementSibling;
      } else {
        tbody.insertBefore(tr, at);
      }
    }
    return rows;
  }

  function renderDevices() {
    const devices = [...state.devices.values()];
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

    const search = searchText('devices');

    const matching = devices.filter(
      (d) =>
        (!search || d._lid.includes(search)) &&
        (!platform || String(d.platform) === platform) &&
        (!tag || strings(d.tags).includes(tag)) &&
        (!feature || strings(d.features).includes(feature)),
    );
    matching.sort(comparator('devices'));
    const rows = drawRows($('devices').tBodies[0], matching.slice(0, SHOWN_DEVICES), deviceRow);
    $('devices-empty').hidden = rows.length > 0;
    $('devices-count').textContent = countText(rows.length, matching.length, devices.length);
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
    const all = [...state.constellations.values()];
    const search = searchText('constellations');
    const matching = search ? all.filter((c) => c._lid.includes(search)) : all;
    matching.sort(comparator('constellations'));
    const rows = drawRows(
      $('constellations').tBodies[0],
      matching.slice(0, SHOWN_CONSTELLATIONS),
      constellationRow,
    );
    $('constellations-empty').hidden = rows.length > 0;
    $('constellations-empty').textContent =
      all.length > 0 ? 'No constellation matches.' : 'No constellation connected.';
    $('constellations-count').textContent = countText(rows.length, matching.length, all.length);
  }

  function constellationRow(c) {
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
  }

  function sessionOrder(a, b) {
    const ar = a.state === 'running';
    const br = b.state === 'running';
    if (ar !== br) return ar ? -1 : 1;
    return ar ? parseTime(b.created_at) - parseTime(a.created_at) : endedAt(b) - endedAt(a);
  }

  function renderSessions() {
    const wanted = $('filter-state').value;
    const search = searchText('sessions');
    const all = [...state.sessions.values()];
    const matching = all
      .filter((s) => (!wanted || s.state === wanted) && (!search || sessionMatches(s, search)))
      .sort(sessionOrder);
    const rows = matching.slice(0, SHOWN_SESSIONS).map(sessionRow);
    $('sessions').tBodies[0].replaceChildren(...rows);
    $('sessions-empty').hidden = rows.length > 0;
    $('sessions-count').textContent =
      matching.length > rows.length
        ? '(newest ' + rows.length + ' of ' + matching.length + ')'
        : '(' + rows.length + (wanted || search ? ' of ' + all.length : '') + ')';
  }

  // A session matches an id search by its own id, its owner's or its device's (the page holds the
  // running sessions and the newest finished ones; older ones are in GET /api/sessions).
  function sessionMatches(s, search) {
    for (const id of [s.session_id, s.owner, s.device]) {
      if (typeof id === 'string' && id.toLowerCase().includes(search)) return true;
    }
    return false;
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
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return Number((m * p).toPrecision(1));
    return Number((10 * p).toPrecision(1));
  }

  // How wide a label is drawn in the current font, its ink included (some glyphs reach past their
  // advance width).
  function labelWidth(ctx, text) {
    const m = ctx.measureText(text);
    const ink = (m.actualBoundingBoxLeft || 0) + (m.actualBoundingBoxRight || 0);
    return Math.ceil(Math.max(m.width, ink));
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
    const maxClients = niceMax(Math.max(0, ...pts.map((p) => Number(p.clients) || 0)));
    const maxTasks = niceMax(Math.max(0, ...pts.map((p) => Number(p.tasks_per_second) || 0)));
    const clientsLabel = String(maxClients);
    const tasksLabel = String(maxTasks);
    // The margins hold the axis labels, however many digits they have: each is as wide as its
    // label plus the gap to the plot and a few pixels to the canvas edge.
    ctx.font = '11px system-ui, sans-serif';
    const gap = 6;
    const edge = 4;
    const left = labelWidth(ctx, clientsLabel) + gap + edge;
    const right = labelWidth(ctx, tasksLabel) + gap + edge;
    const top = 8;
    const bottom = 20;
    const plotW = Math.max(10, w - left - right);
    const plotH = Math.max(10, h - top - bottom);
    const t1 = pts.length ? pts[pts.length - 1].t : Date.now();
    const t0 = pts.length > 1 ? pts[0].t : t1 - 60000;
    const x = (t) => left + ((t - t0) / Math.max(1, t1 - t0)) * plotW;
    const y = (v, max) => top + plotH - (v / max) * plotH;

    ctx.lineWidth = 1;
    ctx.strokeStyle = lineColour;
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
    ctx.fillText(clientsLabel, left - gap, top + 4);
    ctx.fillText('0', left - gap, top + plotH);
    ctx.textAlign = 'left';
    ctx.fillStyle = tasksColour;
    ctx.fillText(tasksLabel, left + plotW + gap, top + 4);
    ctx.fillText('0', left + plotW + gap, top + plotH);
    ctx.fillStyle = mutedColour;
    ctx.textBaseline = 'alphabetic';
    ctx.textAlign = 'left';
    ctx.fillText(pts.length > 1 ? '−' + span(t1 - t0) : '', left, h - 4);
    ctx.textAlign = 'right';
    ctx.fillText('now', left + plotW, h - 4);

    line(ctx, pts, x, (p) => y(Number(p.clients) || 0, maxClients), clientsColour);
    line(ctx, pts, x, (p) => y(Number(p.tasks_per_second) || 0, maxTasks), tasksColour);
    canvas.dataset.points = String(pts.length);
    // What the picture says, for screen readers (and the scale a test checks the labels against).
    canvas.ariaLabel =
      'Connected clients (axis 0 to ' + clientsLabel + ') and tasks per second (axis 0 to ' +
      tasksLabel + ')' + (pts.length > 1 ? ' over the last ' + span(t1 - t0) : '');
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
    for (const table of ['devices', 'constellations', 'sessions']) {
      $('search-' + table).addEventListener('input', () => markDirty(table));
    }
    for (const table of ['devices', 'constellations']) {
      $(table).tHead.addEventListener('click', (e) => {
        const button = e.target.closest('button.sort');
        if (button) sortBy(table, button.dataset.sort);
      });
      showSorting(table);
    }
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
