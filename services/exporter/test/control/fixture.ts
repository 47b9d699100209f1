/**
 * One control API under test: the exporter's real bootstrap and supervisor client in front of the fake
 * balena supervisor (following the supervisor's documented contract) and the inference service's real
 * `GET /api/v1/jobs` router, with every answer body kept for the secrets grep.
 */
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { type FakeSupervisor, startFakeSupervisor } from '../../../../test/fakes/balena-supervisor.ts';
import { jobsRouter } from '../../../inference/src/pipeline/jobs-api.ts';
import { type Exporter, startExporter, tempRoot } from './harness.ts';

export const API_KEY = 'supervisorKey0123456789abcdef';
export const DEVICE = 'scope-lab-7';
/** Variables whose values must never come back in any answer, header or log line. */
export const SECRET_ENV = {
  BALENA_SUPERVISOR_API_KEY: API_KEY,
  GF_SECURITY_ADMIN_PASSWORD: 'grafana-admin-pw-never-shown',
  SCOPEHIVE_HIVE_SECRET: 'hive-secret-never-shown',
  LAB_PRIVATE_NOTE: 'outside-the-schema-never-shown',
  NATS_URL: 'nats://scope:nats-pw-never-shown@nats:4222',
};
export const NEVER_SHOWN = [
  API_KEY,
  'grafana-admin-pw-never-shown',
  'hive-secret-never-shown',
  'outside-the-schema-never-shown',
  'nats-pw-never-shown',
];

export type Role = 'none' | 'view' | 'admin';

export interface Answer {
  status: number;
  text: string;
  json: Record<string, unknown>;
  headers: Headers;
}

export interface ControlFixture {
  root: string;
  fake: FakeSupervisor;
  exporter: Exporter;
  /** The inference service's jobs answer; `down` drops every connection unanswered. */
  jobs: { url: string; inFlight: number; down: boolean; close(): Promise<void> };
  tokens: { view: string; admin: string };
  /** Every raw answer (body and headers) so far. */
  bodies: string[];
  call(
    method: 'GET' | 'POST',
    route: string,
    options?: { role?: Role; body?: unknown; user?: string; base?: string },
  ): Promise<Answer>;
  close(): Promise<void>;
}

async function startJobs(): Promise<ControlFixture['jobs']> {
  const state = { inFlight: 2, down: false };
  const lock = {
    get inFlight() {
      return state.inFlight;
    },
    state: () => 'held' as const,
  };
  const app = express()
    .use((req, _res, next) => (state.down ? req.socket.destroy() : next()))
    .use(jobsRouter(lock));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get inFlight() {
      return state.inFlight;
    },
    set inFlight(n: number) {
      state.inFlight = n;
    },
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function startControlFixture(): Promise<ControlFixture> {
  const root = await tempRoot();
  const fake = await startFakeSupervisor({ apiKey: API_KEY, deviceName: DEVICE });
  const jobs = await startJobs();
  const exporter = await startExporter({
    root,
    inferenceUrl: jobs.url,
    env: {
      BALENA_SUPERVISOR_ADDRESS: fake.url,
      BALENA_APP_ID: String(fake.appId),
      BALENA_DEVICE_UUID: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
      BALENA_DEVICE_TYPE: 'jetson-agx-orin-devkit',
      SCOPEHIVE_CONFIDENCE: '0.4',
      ...SECRET_ENV,
    },
  });
  const read = async (file: string) => (await fs.readFile(path.join(exporter.tokenDir, file), 'utf8')).trim();
  const tokens = { view: await read('view.token'), admin: await read('admin.token') };
  const bodies: string[] = [];
  return {
    root,
    fake,
    exporter,
    jobs,
    tokens,
    bodies,
    async call(method, route, options = {}) {
      const headers: Record<string, string> = {};
      const role = options.role ?? 'admin';
      if (role !== 'none') headers.authorization = `Bearer ${tokens[role]}`;
      if (options.user) headers['x-grafana-user'] = options.user;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${options.base ?? exporter.base}/api/v1${route}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const text = await res.text();
      bodies.push(text, JSON.stringify([...res.headers]));
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: a test asserting on `json` then fails, and `text` says what came instead
      }
      return { status: res.status, text, json, headers: res.headers };
    },
    async close() {
      await exporter.close();
      await jobs.close();
      await fake.close();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
