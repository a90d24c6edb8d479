// The viewer's service worker: lets the page itself load while offline, so a reload on a phone
// with no connection still shows the workspace (from the SDK's IndexedDB copy) and keeps the
// edits waiting there. Network first, so an online page always gets the current build; the
// cache is only the fallback. Only the page's own static files are handled: never the API, the
// sockets, or anything with a token.
const CACHE = 'tabula-shell-v1'
const SHELL = ['/', '/app.js', '/app-style.css', '/icon.svg']

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  )
})

self.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== self.location.origin) return
  const path = url.pathname === '/index.html' ? '/' : url.pathname
  if (!SHELL.includes(path)) return
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone()
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(path, copy)))
        }
        return response
      })
      .catch(() => caches.match(path).then((cached) => cached ?? Response.error())),
  )
})
