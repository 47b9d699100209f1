/**
 * What the unit tests put in place of Grafana's runtime: a role to sign in with and a backend whose
 * answers each test sets, recording every request the pages make.
 */
import { Observable } from 'rxjs';
import { vi } from 'vitest';

export interface Sent {
  method: string;
  url: string;
  params?: Record<string, unknown>;
  body?: unknown;
}

type Answer = { status: number; data: unknown };

export const backend = {
  sent: [] as Sent[],
  answers: new Map<string, Answer>(),
  reset() {
    this.sent = [];
    this.answers.clear();
  },
  /** The answer to `GET /api/...` (method and path, without the query). */
  answer(key: string, data: unknown, status = 200) {
    this.answers.set(key, { status, data });
  },
};

export const user = { orgRole: 'Viewer', isGrafanaAdmin: false };

export const runtimeStub = {
  config: { bootData: { user } },
  getBackendSrv: () => ({
    fetch: (req: { url: string; method?: string; params?: Record<string, unknown>; data?: unknown }) =>
      new Observable((subscriber) => {
        const method = req.method ?? 'GET';
        backend.sent.push({ method, url: req.url, params: req.params, body: req.data });
        const answer = backend.answers.get(`${method} ${req.url}`) ?? {
          status: 404,
          data: { message: 'Not found' },
        };
        if (answer.status < 300) {
          subscriber.next({ status: answer.status, data: answer.data });
          subscriber.complete();
        } else {
          subscriber.error({ status: answer.status, data: answer.data, statusText: '' });
        }
      }),
  }),
  locationService: {
    getLocation: () => ({ pathname: window.location.pathname }),
    getHistory: () => ({ listen: () => () => {} }),
    push: vi.fn(),
  },
  PluginPage: ({ children }: { children: unknown }) => children,
};
