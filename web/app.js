// The phone app: dashboard, sync explanation, history, settings form and actions over the shunt console.
import { Client, DeviceError, kv, num, parseSetting, quote, newSecretHex } from './console.js';
import { BleTransport, WebSocketTransport, detect } from './transport.js';

const POLL_MS = 1000;               // the dashboard refresh
const DETAIL_EVERY = 5;             // sync_status and warnings every 5th refresh (they are long over BLE)
const RECONNECT_MS = 2000;
const STORE_KEY = 'shunt.secret';

const $ = (id) => document.getElementById(id);
const state = {
  mode: null, client: null, transport: null, secret: null, polls: 0, busy: false, timer: null,
  settings: null, help: {}, tab: 'status', label: '',
};

// --- small helpers -----------------------------------------------------------------------------------
function text(id, t) {
  const el = $(id);
  if (el && el.textContent !== t) el.textContent = t;
  return el;
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of kids) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function log(line) {
  const pre = $('log');
  const lines = (pre.textContent + line + '\n').split('\n');
  pre.textContent = lines.slice(-80).join('\n');
}

function errText(e) {
  return e instanceof DeviceError ? `${e.code}: ${e.detail}` : String(e.message || e);
}

function fixed(x, d) {
  return x === null || Number.isNaN(x) ? '---' : x.toFixed(d);
}

function duration(s) {
  if (s === null) return '---';
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} days ${h % 24} h`;
}

/** TTG minutes -> h:mm; -1 is "not discharging" (BM §8). */
export function ttgText(raw) {
  if (!raw || raw.startsWith('---')) return '---';
  const m = num(raw);
  if (m === null) return '---';
  if (m < 0) return 'not discharging';
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')} h`;
}

// --- connection ----------------------------------------------------------------------------------------
function setLink(s, t) {
  const p = $('link-state');
  p.dataset.state = s;
  p.textContent = t;
  const c = $('connect');
  c.hidden = state.mode === 'websocket' || s === 'connected';
  c.disabled = s === 'connecting';
  $('lock').disabled = s !== 'connected';
}

async function connect() {
  const t = state.mode === 'websocket' ? new WebSocketTransport(state.url) : new BleTransport();
  setLink('connecting', state.mode === 'websocket' ? 'connecting to the simulator…' : 'choose the shunt…');
  try {
    await t.open();
  } catch (e) {
    setLink('error', errText(e));
    if (state.mode === 'websocket') setTimeout(connect, RECONNECT_MS);
    return;
  }
  const c = new Client(t);
  const send = t.send.bind(t);
  t.send = (line) => { log('> ' + line.trim().replace(/^(auth|passwd) \S{16,}/, '$1 …')); return send(line); };
  c.onLine = (line) => {
    if (/^(OK|ERR) /.test(line) && !/^OK (status|sync_status|history|\d+ warnings)$/.test(line)) log('< ' + line);
  };
  t.onClose = (why) => {
    c.closed(why);
    if (state.client === c) {
      state.client = null;
      updateLock();
      setLink('error', 'disconnected: ' + why);
      if (state.mode === 'websocket') setTimeout(connect, RECONNECT_MS);
    }
  };
  state.transport = t;
  state.client = c;
  state.polls = 0;
  setLink('connected', t.kind === 'ble' ? `connected to ${t.name} over Bluetooth`
    : `simulator${state.label ? ': ' + state.label : ''}`);
  updateLock();
  await loadSettings();
}

async function poll() {
  const c = state.client;
  if (!c || state.busy) return;
  state.busy = true;
  try {
    const asked = Date.now();
    const st = kv((await c.cmd('status')).data);
    renderStatus(st);
    $('updated').dataset.asked = String(asked);
    if (state.polls % DETAIL_EVERY === 0) {
      renderSync(kv((await c.cmd('sync_status')).data));
      const w = st.warnings && st.warnings !== 'none' ? (await c.cmd('warnings')).data : [];
      renderWarnings(w);
    }
    if (state.tab === 'history' && state.polls % DETAIL_EVERY === 0) renderHistory((await c.cmd('history')).data);
    state.polls++;
  } catch (e) {
    log('! ' + errText(e));
  } finally {
    state.busy = false;
  }
}

// --- dashboard -----------------------------------------------------------------------------------------
function renderStatus(st) {
  const synced = st.synchronized === '1';
  const soc = synced ? num(st.SOC) : null;
  const socEl = text('soc', soc === null ? '---' : `${soc.toFixed(1)} %`);
  socEl.dataset.raw = st.SOC || '';
  const arc = $('gauge-arc');
  arc.setAttribute('stroke-dasharray', `${soc === null ? 0 : Math.max(0, Math.min(100, soc))} 100`);
  arc.dataset.level = soc === null ? 'none' : soc > 50 ? 'good' : soc > 20 ? 'mid' : 'low';
  const pill = text('synced', synced ? 'synchronised' : 'not synchronised: SOC unknown');
  pill.dataset.ok = synced ? '1' : '0';
  const v = num(st.V);
  const i = num(st.I);
  text('v', v === null ? '---' : `${fixed(v, 2)} V`).dataset.raw = st.V || '';
  text('i', i === null ? '---' : `${fixed(i, 2)} A`).dataset.raw = st.I || '';
  text('p', st.P && !st.P.startsWith('---') ? st.P : '---');
  const ce = synced ? num(st.CE) : null;
  text('ce', ce === null ? '---' : `${fixed(ce / 1000, 1)} Ah`);
  text('ttg', synced ? ttgText(st.TTG) : '---');
  const relay = (st.relay || '---').split(' ')[0];
  text('relay', relay);
  const ar = st.AR || '---';
  const names = /\((.*)\)/.exec(ar);
  const al = text('alarms', names ? (names[1] === 'none' ? 'none' : names[1]) : '---');
  al.dataset.alarm = names && names[1] !== 'none' ? '1' : '0';
  const u = text('updated', new Date().toLocaleTimeString());
  u.dataset.t = String(Date.now());
}

/** sync_status in words: each term with its values, the timer, the near-miss and the firmware's advice. */
export function explainSync(ss, help) {
  const mv = (k) => num(ss[k]);
  const V = (x) => (x === null || x < 0 ? '---' : `${(x / 1000).toFixed(2)} V`);
  const A = (x) => (x === null ? '---' : `${(x / 1000).toFixed(2)} A`);
  const advice = (name) => (help[name] ? `${name}: ${help[name]}` : '');
  const terms = [];
  const strict = ss.mode === 'strict';
  const accepted = ss.mode !== undefined && ss.mode !== 'victron';   // strict and accepted also need charge in
  if (ss.auto_sync === '0') {
    terms.push({ key: 'automatic sync', ok: false, text: 'Automatic sync is off: charged_voltage is 0.0 V.', advice: advice('charged_voltage') });
  }
  const vmax = mv('max_v_current_ok_mv');
  if (ss.voltage_ok === '1') {
    terms.push({ key: 'voltage', ok: true, text: `Voltage ${V(mv('voltage_mv'))} is above the charged voltage ${V(mv('charged_voltage_mv'))}.` });
  } else if (ss.auto_sync !== '0') {
    terms.push({
      key: 'voltage',
      ok: false,
      text: `Voltage ${V(mv('voltage_mv'))} is not above the charged voltage ${V(mv('charged_voltage_mv'))}. ` +
        (vmax !== null && vmax >= 0 ? `The highest voltage while the current was low enough was ${V(vmax)}.`
          : 'The voltage has not been above it while the current was low enough yet.'),
      advice: advice('charged_voltage'),
    });
  }
  const imin = mv('min_i_voltage_ok_ma');
  if (ss.current_ok === '1') {
    terms.push({ key: 'current', ok: true, text: `Current ${A(mv('current_ma'))} is below the tail current ${A(mv('tail_current_ma'))}${strict ? ' and charging' : ''}.` });
  } else {
    terms.push({
      key: 'current',
      ok: false,
      text: `Current ${A(mv('current_ma'))} is not below the tail current ${A(mv('tail_current_ma'))}${strict ? ' (strict mode also needs a charging current)' : ''}. ` +
        (imin !== null ? `The lowest current while the voltage was high enough was ${A(imin)}.` : ''),
      advice: advice('tail_current'),
    });
  }
  if (accepted) {
    const ok = ss.accepted_ok === '1';
    terms.push({
      key: 'charge accepted',
      ok,
      text: `Charge accepted since the last full: ${fixed(mv('accepted_mah') / 1000, 2)} Ah of ${fixed(mv('accepted_required_mah') / 1000, 2)} Ah needed.`,
      advice: ok ? '' : advice('sync_mode'),
    });
  }
  const held = mv('timer_s');
  const need = mv('timer_required_s');
  const allOk = terms.every((t) => t.ok);
  terms.push({
    key: 'timer',
    ok: allOk && held !== null && need !== null && held >= need,
    text: `Both held for ${duration(held)} of the ${duration(need)} required.`,
    advice: allOk ? advice('charged_detection_time') : '',
  });
  const failing = terms.filter((t) => !t.ok && t.key !== 'timer').map((t) => t.key);
  let head;
  if (failing.length) {
    head = `Not syncing: the ${failing.join(' and the ')} condition${failing.length > 1 ? 's fail' : ' fails'}.`;
  } else {
    head = 'All conditions hold: it syncs to 100 % when the timer completes.';
  }
  const nm = mv('near_miss_s');
  const more = [];
  if (ss.mode) more.push(`Sync mode ${ss.mode}${ss.mode_note ? ': ' + ss.mode_note : ''}.`);
  if (nm) {
    more.push(`Best near-miss: held ${duration(nm)} of ${duration(need)}, ${duration(mv('near_miss_age_s'))} ago; ` +
      `broken by the ${ss.near_miss_term} term.`);
  } else {
    more.push('No near-miss yet.');
  }
  more.push(ss.last_sync && ss.last_sync !== 'none'
    ? `Last sync: ${ss.last_sync}, ${duration(mv('last_sync_age_s'))} ago.` : 'No sync since the start.');
  return { head, terms, more: more.join(' ') };
}

function renderSync(ss) {
  const x = explainSync(ss, state.help);
  text('sync-head', x.head).dataset.ok = x.terms.every((t) => t.ok) ? '1' : '0';
  const ul = $('sync-terms');
  ul.replaceChildren(...x.terms.map((t) => el('li', { class: t.ok ? 'ok' : 'fail' },
    el('span', { class: 'mark', 'aria-hidden': 'true' }, t.ok ? '✓' : '✗'),
    el('span', {}, t.text, t.advice ? el('span', { class: 'advice' }, t.advice) : null))));
  text('sync-more', x.more);
}

function renderWarnings(lines) {
  const ul = $('warnings');
  const w = kv(lines);
  const codes = Object.keys(w);
  if (!codes.length) {
    ul.replaceChildren(el('li', { class: 'muted' }, 'none'));
    return;
  }
  ul.replaceChildren(...codes.map((c) => {
    const t = w[c];
    const m = /^(W\d+ [^:]*):\s*(.*)$/.exec(t);
    return el('li', {}, el('strong', {}, m ? m[1] : c), el('span', { class: 'advice' }, m ? m[2] : t));
  }));
}

function renderHistory(lines) {
  const rows = [];
  for (const ln of lines) {
    const m = /^(H\d+)=(.*?)(?: \((.*)\))?$/.exec(ln);
    if (!m) continue;
    let v = m[2];
    const mah = /^(-?\d+) mAh$/.exec(v);
    if (mah) v = `${(Number(mah[1]) / 1000).toFixed(1)} Ah`;
    const mvm = /^(-?\d+) mV$/.exec(v);
    if (mvm) v = `${(Number(mvm[1]) / 1000).toFixed(2)} V`;
    const sec = /^(\d+) s$/.exec(v);
    if (sec) v = duration(Number(sec[1]));
    rows.push(el('tr', {}, el('th', {}, m[1]), el('td', {}, m[3] || ''), el('td', { class: 'num' }, v)));
  }
  $('history').replaceChildren(...rows);
}

// --- settings ------------------------------------------------------------------------------------------
// Grouped as VictronConnect does; a setting the page does not know goes by its name's prefix, else Battery.
const GROUPS = [
  ['battery', 'Battery'], ['sync', 'Synchronisation'], ['alarms', 'Alarms'], ['relay', 'Relay'], ['device', 'Device'],
];
const GROUP_OF = {
  charged_voltage: 'sync', tail_current: 'sync', charged_detection_time: 'sync', sync_mode: 'sync',
  start_synchronized: 'sync', shunt_rating_a: 'device', shunt_rating_mv: 'device', current_invert: 'device',
  voltage_divider: 'device', ina226_timing: 'device', device_name: 'device', instant_readout: 'device',
  instant_readout_key: 'device',
};
const TITLES = {
  capacity: 'Battery capacity', charged_voltage: 'Charged voltage', tail_current: 'Tail current',
  charged_detection_time: 'Charged detection time', peukert_exponent: 'Peukert exponent',
  charge_efficiency: 'Charge efficiency factor', current_threshold: 'Current threshold',
  ttg_averaging: 'Time-to-go averaging period', discharge_floor: 'Discharge floor',
  start_synchronized: 'Battery starts synchronised', nominal_voltage: 'Nominal voltage', sync_mode: 'Sync mode',
  peukert_mode: 'Peukert mode', shunt_rating_a: 'Shunt rated current', shunt_rating_mv: 'Shunt rated voltage',
  current_invert: 'Invert current', voltage_divider: 'Voltage divider', ina226_timing: 'Sensor timing',
  device_name: 'Device name', instant_readout: 'Instant Readout', battery_type: 'Battery type',
};

export function groupOf(name) {
  if (GROUP_OF[name]) return GROUP_OF[name];
  if (name.startsWith('alarm_')) return 'alarms';
  if (name.startsWith('relay_')) return 'relay';
  if (name.startsWith('aux_') || name.startsWith('instant_readout') || name.startsWith('shunt_')) return 'device';
  return 'battery';
}

function titleOf(name) {
  if (TITLES[name]) return TITLES[name];
  const t = name.replace(/_/g, ' ');
  return t[0].toUpperCase() + t.slice(1);
}

async function loadSettings() {
  const c = state.client;
  if (!c) return;
  try {
    const list = (await c.cmd('list')).data.map(parseSetting).filter(Boolean);
    state.settings = Object.fromEntries(list.map((s) => [s.name, s]));
    buildSettings(list);
    for (const s of list) {
      if (state.help[s.name] === undefined && s.kind !== 'key') {
        const h = kv((await c.cmd('help ' + s.name)).data);
        state.help[s.name] = h.about || '';
        const p = document.querySelector(`[data-help="${s.name}"]`);
        if (p) p.textContent = state.help[s.name];
      }
    }
  } catch (e) {
    log('! settings: ' + errText(e));
  }
}

function inputFor(s) {
  let input;
  if (s.kind === 'num') {
    input = el('input', { type: 'number', min: s.min, max: s.max, step: s.step, inputMode: 'decimal' });
    // The device checks the range: the browser must let an out-of-range value through to it.
    input.removeAttribute('min');
    input.removeAttribute('max');
    input.dataset.min = s.min;
    input.dataset.max = s.max;
  } else if (s.kind === 'enum') {
    input = el('select', {}, ...s.choices.map((c) => el('option', { value: c }, c)));
  } else if (s.kind === 'text') {
    input = el('input', { type: 'text', maxLength: s.maxlen, spellcheck: false });
  } else {
    input = el('input', { type: 'text', inputMode: 'decimal', placeholder: `linked or ${s.min}..${s.max}` });
  }
  input.value = s.value;
  input.name = s.name;
  input.id = 'set-' + s.name;
  return input;
}

function buildSettings(list) {
  const root = $('settings');
  const groups = {};
  for (const [g, title] of GROUPS) {
    groups[g] = el('fieldset', { class: 'card group', 'data-group': g }, el('legend', {}, title));
  }
  for (const s of list) {
    if (s.kind === 'key') continue;             // the Instant Readout key: Actions, New key
    const input = inputFor(s);
    // noValidate: the device validates (range, step); its ERR message is shown, never a browser tooltip
    const form = el('form', { class: 'setting', 'data-setting': s.name, noValidate: true });
    const unit = el('span', { class: 'unit' }, s.unit);   // always there: the Save buttons line up
    form.append(
      el('label', { htmlFor: input.id }, el('span', { class: 'title' }, titleOf(s.name)), el('code', {}, s.name)),
      el('div', { class: 'field' }, input, unit, el('button', { class: 'btn', type: 'submit' }, 'Save')),
      el('p', { class: 'meta' }, `Range ${s.range} · default ${s.default}`),
      el('p', { class: 'help', 'data-help': s.name }, state.help[s.name] || ''),
      el('p', { class: 'err', role: 'alert', 'data-err': s.name }),
    );
    form.addEventListener('submit', (ev) => { ev.preventDefault(); saveSetting(s.name, form); });
    groups[groupOf(s.name)].append(form);
  }
  root.replaceChildren(...GROUPS.map(([g]) => groups[g]).filter((f) => f.children.length > 1));
}

async function saveSetting(name, form) {
  const s = state.settings[name];
  const input = form.querySelector('[name]');
  const err = form.querySelector('.err');
  const btn = form.querySelector('button');
  err.textContent = '';
  err.classList.remove('ok');
  form.dataset.state = 'saving';
  btn.disabled = true;
  let value = input.value.trim();
  if (s.kind === 'text') value = quote(input.value);
  try {
    if (!value) throw new Error('enter a value');
    const r = await withAuth(() => state.client.cmd(`set ${name} ${value}`));
    form.dataset.state = 'saved';
    err.textContent = '';
    const shown = r.final.slice(r.final.indexOf('=') + 1);
    form.querySelector('.meta').dataset.saved = shown;
    flash(form, `Saved: ${shown}`);
    await refreshSettings();
  } catch (e) {
    form.dataset.state = 'error';
    let keep = '';
    try {
      keep = (await state.client.cmd('get ' + name)).final.split('=').slice(1).join('=');
    } catch (e2) { /* not connected */ }
    err.textContent = `Not changed: ${errText(e)}` + (keep ? ` (the device keeps ${keep})` : '');
  } finally {
    btn.disabled = false;
  }
}

function flash(form, msg) {
  const p = form.querySelector('.err');
  p.classList.add('ok');
  p.textContent = msg;
  setTimeout(() => { if (p.textContent === msg) { p.textContent = ''; p.classList.remove('ok'); } }, 4000);
}

async function refreshSettings() {
  const list = (await state.client.cmd('list')).data.map(parseSetting).filter(Boolean);
  for (const s of list) {
    state.settings[s.name] = s;
    const input = $('set-' + s.name);
    if (input && document.activeElement !== input) input.value = s.value;
  }
}

// --- authentication ------------------------------------------------------------------------------------
function askSecret(message) {
  const d = $('auth-dialog');
  $('secret-in').value = '';
  $('remember').checked = !!localStorage.getItem(STORE_KEY);
  $('auth-err').textContent = message || '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => {
      const ok = d.returnValue === 'ok' && $('secret-in').value.trim();
      resolve(ok ? { secret: $('secret-in').value.trim(), remember: $('remember').checked } : null);
    }, { once: true });
    d.showModal();
    $('secret-in').focus();
  });
}

async function ensureAuth() {
  const c = state.client;
  if (!c) throw new Error('not connected');
  if (c.authenticated) return;
  let secret = state.secret || localStorage.getItem(STORE_KEY);
  let remember = !!localStorage.getItem(STORE_KEY);
  if (!secret) {
    const r = await askSecret();
    if (!r) throw new Error('cancelled: no secret given');
    secret = r.secret;
    remember = r.remember;
  }
  try {
    await c.login(secret);
  } catch (e) {
    state.secret = null;              // a wrong secret is not kept, nor reused
    if (e instanceof DeviceError && e.code === 'AUTH') localStorage.removeItem(STORE_KEY);
    updateLock();
    throw e;
  }
  state.secret = secret;
  if (remember) localStorage.setItem(STORE_KEY, secret);
  else localStorage.removeItem(STORE_KEY);
  updateLock();
  if (c.setupMode) await offerPasswd(remember);
}

/** Run fn after authenticating; once more after a fresh login if the device says the session ended. */
async function withAuth(fn) {
  await ensureAuth();
  try {
    return await fn();
  } catch (e) {
    if (e instanceof DeviceError && e.code === 'AUTH' && state.client) {
      state.client.authenticated = false;
      await ensureAuth();
      return fn();
    }
    throw e;
  }
}

async function offerPasswd(remember) {
  const secret = newSecretHex();
  text('new-secret', secret);
  const d = $('passwd-dialog');
  const ok = await new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
  });
  if (!ok) return;
  await setSecret(secret, remember);
}

async function setSecret(secret, remember) {
  const c = state.client;
  if (!c.pad) await c.login(state.secret);     // passwd needs a fresh challenge
  await c.passwd(secret);
  state.secret = secret;
  if (remember ?? !!localStorage.getItem(STORE_KEY)) localStorage.setItem(STORE_KEY, secret);
  const out = $('secret-out');
  out.hidden = false;
  out.textContent = `New secret (keep it; shown only now): ${secret}`;
  showTab('actions');
}

function updateLock() {
  const b = $('lock');
  const on = !!(state.client && state.client.authenticated);
  b.dataset.state = on ? 'unlocked' : 'locked';
  b.textContent = on ? 'Unlocked' : 'Unlock';
  document.body.dataset.auth = on ? '1' : '0';
}

// --- actions -------------------------------------------------------------------------------------------
const CONFIRM = {
  synchronize: 'Set SOC to 100 % now? Do this only after a full charge.',
  zero_current: 'Are all loads and chargers off? The calibration measures for 10 s.',
  clear_history: 'Clear H1–H18?',
  rekey: 'Draw a new Instant Readout key? Receivers with the old key stop decoding.',
};

async function action(name) {
  const msg = $('action-msg');
  if (name === 'forget') {
    localStorage.removeItem(STORE_KEY);
    msg.textContent = 'The saved secret is forgotten on this device.';
    return;
  }
  if (CONFIRM[name] && !window.confirm(CONFIRM[name])) return;
  msg.dataset.state = 'busy';
  msg.textContent = 'Working…';
  try {
    if (name === 'logout') {
      await state.client.logout();
      state.secret = null;
      updateLock();
      msg.textContent = 'Locked: changes need the secret again.';
    } else if (name === 'passwd') {
      await ensureAuth();
      await setSecret(newSecretHex());
      msg.textContent = 'Secret changed.';
    } else if (name === 'rekey') {
      await withAuth(() => state.client.cmd('instant_readout_rekey'));
      const key = (await state.client.cmd('get instant_readout_key')).final.split('=')[1];
      const out = $('key-out');
      out.hidden = false;
      out.textContent = `New key (Home Assistant, victron-ble): ${key}`;
      msg.textContent = 'Instant Readout key replaced.';
    } else {
      const r = await withAuth(() => state.client.cmd(name));
      msg.textContent = r.final || 'done';
    }
    msg.dataset.state = 'ok';
    state.polls = 0;
  } catch (e) {
    msg.dataset.state = 'error';
    msg.textContent = errText(e) + (e.code === 'STATE' && name.startsWith('relay') ? ' (set relay mode to remote first)' : '');
  }
}

async function setSoc(ev) {
  ev.preventDefault();
  const v = $('soc-in').value.trim();
  const msg = $('action-msg');
  try {
    const r = await withAuth(() => state.client.cmd('set_soc ' + v));
    msg.dataset.state = 'ok';
    msg.textContent = r.final;
    state.polls = 0;
  } catch (e) {
    msg.dataset.state = 'error';
    msg.textContent = errText(e);
  }
}

// --- tabs and start ------------------------------------------------------------------------------------
function showTab(name) {
  if (!document.querySelector(`section[data-tab="${name}"]`)) name = 'status';
  state.tab = name;
  for (const s of document.querySelectorAll('section.tab')) s.hidden = s.dataset.tab !== name;
  for (const a of document.querySelectorAll('nav.tabs a')) a.setAttribute('aria-selected', String(a.dataset.tab === name));
  if (name === 'history' && state.client) state.polls = 0;
}

async function start() {
  window.addEventListener('hashchange', () => showTab(location.hash.slice(1)));
  showTab(location.hash.slice(1) || 'status');
  $('connect').addEventListener('click', connect);
  $('lock').addEventListener('click', async () => {
    try {
      if (state.client && state.client.authenticated) return;
      await ensureAuth();
    } catch (e) {
      $('action-msg').textContent = errText(e);
      log('! ' + errText(e));
    }
  });
  for (const b of document.querySelectorAll('[data-action]')) b.addEventListener('click', () => action(b.dataset.action));
  $('soc-form').addEventListener('submit', setSoc);
  if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
    navigator.serviceWorker.register('sw.js').catch(() => {});
  }
  const t = await detect();
  state.mode = t.kind;
  state.url = t.url;
  state.label = t.label || '';
  document.body.dataset.transport = t.kind;
  if (t.kind === 'websocket') connect();
  else setLink('idle', BleTransport.available() ? 'not connected: press Connect' : 'this browser has no Web Bluetooth');
  state.timer = setInterval(poll, POLL_MS);
}

// Exposed for the browser tests and for curious users in the developer console.
window.shunt = { state, explainSync, ttgText, groupOf };
start();
