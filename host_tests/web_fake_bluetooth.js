// A fake navigator.bluetooth for the browser tests: the Nordic UART Service of firmware/drivers/ble_nus.py,
// bridged to the simulator's real console over its WebSocket (one GATT connection = one console session, as on
// the board). It keeps the limits of Chrome's Web Bluetooth and of the ATT layer that the page must live with
// (Chrome: third_party/blink/renderer/modules/bluetooth/; Web Bluetooth spec "BluetoothUUID", "writeValue*"):
//   - requestDevice() only during a user gesture (SecurityError otherwise), and only for a filter naming the
//     service (NotFoundError, as when the chooser finds nothing);
//   - UUIDs must be lower-case canonical strings (TypeError);
//   - one GATT operation at a time (NetworkError "GATT operation already in progress.");
//   - a write carries at most ATT_MTU - 3 = 20 bytes (the default MTU of 23; the page cannot learn a larger one);
//   - notifications arrive in chunks of at most 20 bytes, one 'characteristicvaluechanged' event each, with
//     characteristic.value a DataView; none before startNotifications().
(() => {
  const NUS = { svc: '__SVC__', rx: '__RX__', tx: '__TX__' };
  const PAYLOAD = 23 - 3;
  const rec = { writes: [], lines: 0, notifications: 0, maxNotify: 0, errors: [], requested: null, sessions: 0 };
  window.__fakeBle = rec;

  const canon = (u) => {
    if (typeof u !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(u)) {
      rec.errors.push('bad uuid ' + u);
      throw new TypeError(`Failed to execute: Invalid Service name: '${u}'.`);
    }
    return u;
  };
  const fail = (name, msg) => { rec.errors.push(msg); return new DOMException(msg, name); };

  class Characteristic extends EventTarget {
    constructor(service, uuid) {
      super();
      this.service = service;
      this.uuid = uuid;
      this.value = null;
      this.notifying = false;
    }
    async _write(data) {
      const dev = this.service.device;
      if (!dev.gatt.connected) throw fail('NetworkError', 'GATT Server is disconnected.');
      if (this.uuid !== NUS.rx) throw fail('NotSupportedError', 'GATT operation not permitted.');
      if (dev._busy) throw fail('NetworkError', 'GATT operation already in progress.');
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (bytes.length > PAYLOAD) throw fail('NotSupportedError', `write of ${bytes.length} bytes > ATT MTU - 3`);
      dev._busy = true;
      await new Promise((r) => setTimeout(r, 3));          // one connection event
      dev._busy = false;
      rec.writes.push(bytes.length);
      rec.lines += bytes.filter((b) => b === 10).length;
      dev._ws.send(bytes.slice().buffer);                    // bytes, so a split character stays intact
    }
    writeValueWithoutResponse(d) { return this._write(d); }
    writeValueWithResponse(d) { return this._write(d); }
    writeValue(d) { return this._write(d); }
    async startNotifications() {
      if (this.uuid !== NUS.tx) throw fail('NotSupportedError', 'GATT operation not permitted.');
      this.notifying = true;
      return this;
    }
    async stopNotifications() { this.notifying = false; return this; }
    _deliver(bytes) {
      // The device notifies MTU - 3 bytes at a time (ble_nus.BleNus.send); each is its own event.
      for (let i = 0; i < bytes.length; i += PAYLOAD) {
        const chunk = bytes.slice(i, i + PAYLOAD);
        this.service.device._rxq = this.service.device._rxq.then(() => new Promise((r) => setTimeout(() => {
          if (this.notifying) {
            this.value = new DataView(chunk.buffer);
            rec.notifications++;
            rec.maxNotify = Math.max(rec.maxNotify, chunk.length);
            this.dispatchEvent(new Event('characteristicvaluechanged'));
          }
          r();
        }, 0)));
      }
    }
  }

  class Service {
    constructor(device) {
      this.device = device;
      this.uuid = NUS.svc;
      this.isPrimary = true;
      this.rx = new Characteristic(this, NUS.rx);
      this.tx = new Characteristic(this, NUS.tx);
    }
    async getCharacteristic(uuid) {
      canon(uuid);
      if (!this.device.gatt.connected) throw fail('NetworkError', 'GATT Server is disconnected.');
      if (uuid === NUS.rx) return this.rx;
      if (uuid === NUS.tx) return this.tx;
      throw fail('NotFoundError', 'No Characteristics matching UUID found in Service.');
    }
  }

  class Server {
    constructor(device) { this.device = device; this.connected = false; }
    connect() {
      const dev = this.device;
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://${location.host}/ws`);   // the simulator's console: the "radio"
        ws.binaryType = 'arraybuffer';
        ws.onopen = () => { this.connected = true; rec.sessions++; dev._ws = ws; resolve(this); };
        ws.onerror = () => reject(fail('NetworkError', 'Connection failed for unknown reason.'));
        ws.onmessage = (ev) => {
          const bytes = typeof ev.data === 'string' ? new TextEncoder().encode(ev.data) : new Uint8Array(ev.data);
          dev._service.tx._deliver(bytes);
        };
        ws.onclose = () => {
          if (this.connected) {
            this.connected = false;
            dev.dispatchEvent(new Event('gattserverdisconnected'));
          }
        };
      });
    }
    disconnect() { if (this.device._ws) this.device._ws.close(); }
    async getPrimaryService(uuid) {
      canon(uuid);
      if (!this.connected) throw fail('NetworkError', 'GATT Server is disconnected.');
      if (uuid !== NUS.svc) throw fail('NotFoundError', 'No Services matching UUID found in Device.');
      return this.device._service;
    }
  }

  class Device extends EventTarget {
    constructor() {
      super();
      this.id = 'fake-shunt';
      this.name = 'Shunt-1A2B';
      this.gatt = new Server(this);
      this._service = new Service(this);
      this._busy = false;
      this._rxq = Promise.resolve();
    }
  }

  const bluetooth = {
    async getAvailability() { return true; },
    async requestDevice(opts) {
      if (!navigator.userActivation.isActive) {
        throw fail('SecurityError', 'Must be handling a user gesture to show a permission request.');
      }
      rec.requested = JSON.stringify(opts);
      // The chooser lists the device if a filter matches it; its service is reachable only if named in a
      // services filter or in optionalServices (else getPrimaryService fails with SecurityError in Chrome).
      const filters = (opts && opts.filters) || [];
      const granted = filters.some((f) => (f.services || []).map(canon).includes(NUS.svc)) ||
        ((opts && opts.optionalServices) || []).map(canon).includes(NUS.svc);
      const found = filters.some((f) => (f.services || []).map(canon).includes(NUS.svc) ||
        (f.namePrefix !== undefined && 'Shunt-1A2B'.startsWith(f.namePrefix)));
      if (!found || !granted) throw fail('NotFoundError', 'User cancelled the requestDevice() chooser.');
      return new Device();
    },
  };
  Object.defineProperty(navigator, 'bluetooth', { value: bluetooth, configurable: true });
})();
