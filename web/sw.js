// Offline once loaded: the page's own files are cached at install and served from the network when it answers,
// else from the cache. transport.json (the simulator's) is never cached: offline means Web Bluetooth.
const CACHE = 'shunt-web-v1';
const FILES = ['./', 'index.html', 'style.css', 'app.js', 'console.js', 'transport.js', 'manifest.webmanifest',
  'icon.svg'];

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== 'GET' || url.origin !== location.origin || url.pathname.endsWith('/transport.json')) return;
  ev.respondWith(fetch(ev.request).then((r) => {
    if (r.ok) {
      const copy = r.clone();
      caches.open(CACHE).then((c) => c.put(ev.request, copy));
    }
    return r;
  }).catch(() => caches.match(ev.request, { ignoreSearch: true })));
});
