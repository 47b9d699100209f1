/**
 * @grafana/runtime as the harness page gives it to the built plugin: the signed-in user from the
 * page's boot data (set by the harness server per session, like Grafana's), a backendSrv whose fetch
 * is the browser's own (same origin, session cookie), and a locationService over the History API.
 */
import { createElement } from 'react';
import { Observable } from 'rxjs';

const boot = window.__SCOPEHIVE_HARNESS__;

export const config = { bootData: { user: boot.user }, buildInfo: { version: '11.4.0' } };

export function getBackendSrv() {
  return {
    fetch(req) {
      return new Observable((subscriber) => {
        const query = req.params ? `?${new URLSearchParams(req.params)}` : '';
        const body = req.data === undefined ? undefined : JSON.stringify(req.data);
        fetch(`${req.url}${query}`, {
          method: req.method ?? 'GET',
          headers: body ? { 'content-type': 'application/json' } : {},
          body,
          credentials: 'same-origin',
        }).then(
          async (res) => {
            const text = await res.text();
            let data = text;
            try {
              data = JSON.parse(text);
            } catch {
              // not JSON: given as text, as Grafana's backendSrv does
            }
            if (res.ok) {
              subscriber.next({ status: res.status, statusText: res.statusText, ok: true, data });
              subscriber.complete();
            } else {
              subscriber.error({ status: res.status, statusText: res.statusText, data });
            }
          },
          (err) => subscriber.error(err),
        );
      });
    },
  };
}

const listeners = new Set();
const notify = () => {
  for (const listener of listeners) listener(window.location);
};
window.addEventListener('popstate', notify);

export const locationService = {
  getLocation: () => window.location,
  getHistory: () => ({
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  }),
  push(path) {
    window.history.pushState({}, '', path);
    notify();
  },
};

export function PluginPage({ children }) {
  return createElement(
    'main',
    { className: 'harness-plugin-page' },
    createElement('h1', null, 'scopehive'),
    children,
  );
}
