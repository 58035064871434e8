// The shunt console protocol, as tools/shuntctl.py speaks it (firmware/proto/console.py, proto/auth.py).
// One request per line; the reply is data lines and one final `OK ...` or `ERR CODE message`. Requests go one at
// a time (replies carry no id). Authentication: `auth` -> `OK nonce=<32 hex>`, answer `auth <HMAC-SHA256(key,
// nonce) hex>`; key = the 64-hex secret as 32 bytes, else the text itself (the one-time setup code). `passwd`
// sends new secret XOR HMAC-SHA256(key, "passwd" + nonce): the secret never crosses the link.

export const REPLY_TIMEOUT_MS = 15000;   // zero_current alone takes 10 s on the device (shuntctl: 15 s)

export class DeviceError extends Error {
  constructor(code, detail) {
    super(`ERR ${code} ${detail}`);
    this.code = code;
    this.detail = detail;
  }
}

export function isFinal(line) {
  return line === 'OK' || line.startsWith('OK ') || line.startsWith('ERR ');
}

/** {data: [lines], final: text after "OK "}; DeviceError for ERR. */
export function parseReply(lines) {
  const last = lines[lines.length - 1] || '';
  if (last.startsWith('ERR ')) {
    const rest = last.slice(4);
    const sp = rest.indexOf(' ');
    throw new DeviceError(sp < 0 ? rest : rest.slice(0, sp), sp < 0 ? '' : rest.slice(sp + 1));
  }
  return { data: lines.slice(0, -1), final: last.startsWith('OK ') ? last.slice(3) : '' };
}

/** key=value lines as an object (values as sent, with their units). */
export function kv(lines) {
  const out = {};
  for (const ln of lines) {
    const i = ln.indexOf('=');
    if (i > 0) out[ln.slice(0, i)] = ln.slice(i + 1);
  }
  return out;
}

/** The leading number of a value ("14600 mV" -> 14600, "---" -> null). */
export function num(text) {
  if (text === undefined || text === null) return null;
  const m = /^\s*(-?\d+(?:\.\d+)?)/.exec(text);
  return m ? Number(m[1]) : null;
}

export function unquote(text) {
  if (text.length >= 2 && text[0] === '"' && text[text.length - 1] === '"') {
    return text.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return text;
}

export function quote(text) {
  return '"' + text.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/**
 * One `list` line -> a setting description. The form is built from these, so settings added to the firmware
 * appear without page changes. Line: name=value[ unit][ (note)]; range RANGE; default DEFAULT
 */
export function parseSetting(line) {
  const eq = line.indexOf('=');
  if (eq < 1) return null;
  const name = line.slice(0, eq);
  let rest = line.slice(eq + 1);
  const ri = rest.indexOf('; range ');
  if (ri < 0) return null;
  const valueText = rest.slice(0, ri);
  rest = rest.slice(ri + 8);
  const di = rest.lastIndexOf('; default ');
  const range = di < 0 ? rest : rest.slice(0, di);
  const def = di < 0 ? '' : rest.slice(di + 10);
  const s = { name, valueText, range, default: def, kind: 'enum', unit: '', choices: [], note: '' };
  let m;
  if ((m = /^(linked, or )?(-?\d+(?:\.\d+)?)\.\.(-?\d+(?:\.\d+)?)(?: (.+?))? in steps of (\d+(?:\.\d+)?)$/.exec(range))) {
    s.kind = m[1] ? 'linked' : 'num';
    s.min = m[2];
    s.max = m[3];
    s.unit = m[4] || '';
    s.step = m[5];
  } else if ((m = /^0\.\.(\d+) printable ASCII characters$/.exec(range))) {
    s.kind = 'text';
    s.maxlen = Number(m[1]);
  } else if (/^\d+ hex characters/.test(range)) {
    s.kind = 'key';
  } else {
    const sp = range.indexOf(' ');
    s.choices = (sp < 0 ? range : range.slice(0, sp)).split('|');
    s.unit = sp < 0 ? '' : range.slice(sp + 1);
  }
  s.value = settingValue(s, valueText);
  return s;
}

/** The bare value of a setting's shown text: unit and note removed, text unquoted. */
export function settingValue(s, text) {
  if (s.kind === 'text') return unquote(text);
  let v = text;
  const n = v.indexOf(' (');
  if (n >= 0) {
    s.note = v.slice(n + 2, v.endsWith(')') ? -1 : undefined);
    v = v.slice(0, n);
  }
  if (s.unit && v.endsWith(' ' + s.unit)) v = v.slice(0, -(s.unit.length + 1));
  if (s.kind === 'linked' && s.note === 'linked') return 'linked';
  return v;
}

// --- bytes and HMAC (WebCrypto) ---------------------------------------------------------------------------
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text) {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

/** The HMAC key of a secret: 64 hex -> 32 bytes; anything else (the setup code) -> its UTF-8 bytes. */
export function keyOf(secret) {
  const s = secret.trim();
  if (s.length === 64) {
    const b = fromHex(s);
    if (b) return b;
  }
  return new TextEncoder().encode(s);
}

export async function hmacSha256(key, msg) {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, msg));
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * A console session over a transport ({send(text) -> Promise, onData(text), onClose()}). The transport hands
 * over text in arbitrary pieces; lines are reassembled here.
 */
export class Client {
  constructor(transport) {
    this.t = transport;
    this.buf = '';
    this.pending = null;
    this.queue = Promise.resolve();
    this.authenticated = false;
    this.setupMode = false;
    this.pad = null;
    this.onLine = null;                  // every line received (the page's log)
    transport.onData = (text) => this.feed(text);
  }

  feed(text) {
    this.buf += text;
    let i;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, i).replace(/\r$/, '');
      this.buf = this.buf.slice(i + 1);
      if (this.onLine) this.onLine(line);
      const p = this.pending;
      if (!p) continue;                  // nothing asked: not a reply (the console sends nothing unasked)
      p.lines.push(line);
      if (isFinal(line)) {
        this.pending = null;
        p.done(p.lines);
      }
    }
  }

  closed(reason) {
    const p = this.pending;
    this.pending = null;
    this.authenticated = false;
    this.pad = null;
    if (p) p.fail(new Error(reason || 'connection closed'));
  }

  /** Send one line; the reply lines (the last one OK/ERR). Requests are queued: one on the link at a time. */
  request(line) {
    const run = () => new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        reject(new Error(`no reply to "${line.split(' ')[0]}" within ${REPLY_TIMEOUT_MS / 1000} s`));
      }, REPLY_TIMEOUT_MS);
      this.pending = {
        lines: [],
        done: (lines) => { clearTimeout(timer); resolve(lines); },
        fail: (e) => { clearTimeout(timer); reject(e); },
      };
      this.t.send(line + '\n').catch((e) => {
        clearTimeout(timer);
        this.pending = null;
        reject(e);
      });
    });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  async cmd(line) {
    return parseReply(await this.request(line));
  }

  /** Challenge-response; returns the device's final text. Throws DeviceError (AUTH, LOCKED, NOSECRET). */
  async login(secret) {
    this.authenticated = false;
    this.pad = null;
    const { final } = await this.cmd('auth');
    if (!final.startsWith('nonce=')) throw new Error('unexpected reply to auth: ' + final);
    const nonce = fromHex(final.slice(6).trim());
    if (!nonce) throw new Error('bad nonce from the device');
    const key = keyOf(secret);
    const answer = await hmacSha256(key, nonce);
    const r = await this.cmd('auth ' + toHex(answer));
    this.pad = await hmacSha256(key, concat(new TextEncoder().encode('passwd'), nonce));
    this.authenticated = true;
    this.setupMode = /setup code/.test(r.final);
    return r.final;
  }

  /** Set a new 32-byte secret (hex) with passwd; needs a fresh login (the pad is used once). */
  async passwd(newSecretHex) {
    const raw = fromHex(newSecretHex);
    if (!raw || raw.length !== 32) throw new Error('the new secret must be 64 hex characters');
    if (!this.pad) throw new Error('passwd needs a fresh authentication');
    const masked = raw.map((b, i) => b ^ this.pad[i]);
    const r = await this.cmd('passwd ' + toHex(masked));
    this.pad = null;
    this.setupMode = false;
    return r.final;
  }

  async logout() {
    this.authenticated = false;
    this.pad = null;
    return this.cmd('logout');
  }
}

export function newSecretHex() {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}
