// The two links to the console: Web Bluetooth to the device's Nordic UART Service, or the simulator's
// WebSocket bridge (tools/web_bridge.py). Both hand text to `onData` in arbitrary pieces; the Client
// (console.js) reassembles lines.

// firmware/drivers/ble_nus.py (PL §3.2): Web Bluetooth wants the UUIDs in lower case.
export const NUS_SERVICE = '6e400001-b5a3-f393-e0a9-e50e24dcca9e';
export const NUS_RX = '6e400002-b5a3-f393-e0a9-e50e24dcca9e';   // central -> device: write
export const NUS_TX = '6e400003-b5a3-f393-e0a9-e50e24dcca9e';   // device -> central: notify
// Web Bluetooth does not tell the page the negotiated ATT MTU, so writes use the ATT minimum: 23 - 3 bytes.
// The device's RX reassembles lines from any split (drivers/console_uart.LineAssembler).
export const CHUNK_BYTES = 20;

export class BleTransport {
  constructor() {
    this.kind = 'ble';
    this.onData = () => {};
    this.onClose = () => {};
    this.device = null;
    this.rx = null;
    this.tx = null;
    this.decoder = new TextDecoder();
    this.sending = Promise.resolve();
  }

  static available() {
    return typeof navigator !== 'undefined' && !!navigator.bluetooth;
  }

  /** Must run from a user gesture (a click): the browser shows its device chooser. */
  async open() {
    if (!BleTransport.available()) {
      throw new Error('this browser has no Web Bluetooth: use Chrome on Android or a desktop (https or a file)');
    }
    // The NUS UUID rides in the scan response only when the name leaves room (proto/readout.scan_response), so
    // the default name's prefix finds the device too; optionalServices grants the service either way.
    this.device = await navigator.bluetooth.requestDevice({
      filters: [{ services: [NUS_SERVICE] }, { namePrefix: 'Shunt-' }],
      optionalServices: [NUS_SERVICE],
    });
    this.name = this.device.name || 'shunt';
    this.device.addEventListener('gattserverdisconnected', () => this.onClose('the device disconnected'));
    const server = await this.device.gatt.connect();
    const svc = await server.getPrimaryService(NUS_SERVICE);
    this.rx = await svc.getCharacteristic(NUS_RX);
    this.tx = await svc.getCharacteristic(NUS_TX);
    this.tx.addEventListener('characteristicvaluechanged', (ev) => {
      const v = ev.target.value;
      this.onData(this.decoder.decode(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), { stream: true }));
    });
    await this.tx.startNotifications();
  }

  /** Chunks of CHUNK_BYTES, one GATT write at a time (the browser refuses overlapping operations). */
  send(text) {
    const data = new TextEncoder().encode(text);
    const run = async () => {
      for (let i = 0; i < data.length; i += CHUNK_BYTES) {
        const chunk = data.slice(i, i + CHUNK_BYTES);
        if (this.rx.writeValueWithoutResponse) await this.rx.writeValueWithoutResponse(chunk);
        else await this.rx.writeValue(chunk);
      }
    };
    const p = this.sending.then(run, run);
    this.sending = p.catch(() => {});
    return p;
  }

  close() {
    if (this.device && this.device.gatt.connected) this.device.gatt.disconnect();
  }
}

export class WebSocketTransport {
  constructor(url) {
    this.kind = 'websocket';
    this.url = url;
    this.name = 'simulator';
    this.onData = () => {};
    this.onClose = () => {};
    this.ws = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => { opened = true; resolve(); };
      ws.onmessage = (ev) => this.onData(typeof ev.data === 'string' ? ev.data : '');
      ws.onclose = (ev) => {
        if (!opened) reject(new Error('cannot reach the simulator at ' + this.url));
        else this.onClose(ev.reason || 'the simulator closed the connection');
      };
    });
  }

  async send(text) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error('not connected');
    this.ws.send(text);
  }

  close() {
    if (this.ws) this.ws.close();
  }
}

/** The simulator serves /transport.json; anywhere else (a file, static pages) the page uses Web Bluetooth. */
export async function detect() {
  const q = new URLSearchParams(location.search).get('transport');
  if (q === 'ble') return { kind: 'ble' };
  if (location.protocol === 'http:' || location.protocol === 'https:') {
    try {
      const r = await fetch('transport.json', { cache: 'no-store' });
      if (r.ok) {
        const j = await r.json();
        if (j.transport === 'websocket') {
          const u = new URL(j.path, location.href);
          u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
          return { kind: 'websocket', url: u.href, label: j.label || '' };
        }
      }
    } catch (e) {
      // offline or a static host: Web Bluetooth
    }
  }
  return { kind: 'ble' };
}
