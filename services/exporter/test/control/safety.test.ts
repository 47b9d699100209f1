import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, type ControlFixture, DEVICE, NEVER_SHOWN, startControlFixture } from './fixture.ts';
import { startExporter, tempRoot } from './harness.ts';

let f: ControlFixture;
beforeAll(async () => {
  f = await startControlFixture();
});
afterAll(async () => {
  await f?.close();
});

const ROUTES = [
  ['GET', '/device', undefined],
  ['GET', '/services', undefined],
  ['GET', '/logs', undefined],
  ['POST', '/services/inference/restart', undefined],
  ['POST', '/reboot', { confirm: DEVICE }],
  ['POST', '/shutdown', { confirm: DEVICE }],
  ['POST', '/update', undefined],
] as const;

type Setting = { name: string; value: string | null; source: string; description: string; masked: boolean };

describe("control API safety (fake supervisor following balena's documented contract)", () => {
  it('GET /settings: every service, values masked where the name looks secret or a URL holds credentials', async () => {
    const { json } = await f.call('GET', '/settings', { role: 'view' });
    const services = json.services as Array<{ service: string; settings: Setting[] }>;
    expect(services.map((s) => s.service)).toEqual(['ingest', 'inference', 'exporter']);
    const inference = services.find((s) => s.service === 'inference')?.settings ?? [];
    expect(inference.find((s) => s.name === 'SCOPEHIVE_CONFIDENCE')).toMatchObject({
      value: '0.4',
      source: 'set',
      masked: false,
    });
    expect(inference.find((s) => s.name === 'SCOPEHIVE_THREADS')).toMatchObject({
      value: '0',
      source: 'default',
    });
    expect(inference.find((s) => s.name === 'NATS_URL')).toMatchObject({
      value: 'nats://********@nats:4222',
      source: 'set',
      masked: true,
    });
    const exporter = services.find((s) => s.service === 'exporter')?.settings ?? [];
    expect(exporter.find((s) => s.name === 'SCOPEHIVE_PROC_ROOT')?.description).toMatch(/proc file system/);
    for (const s of services.flatMap((x) => x.settings)) expect(s.description).not.toBe('');
  });

  it('GET /settings: variables outside the schema are not shown (deny by default), only counted', async () => {
    const { json, text } = await f.call('GET', '/settings', { role: 'view' });
    for (const name of [
      'BALENA_SUPERVISOR_API_KEY',
      'GF_SECURITY_ADMIN_PASSWORD',
      'SCOPEHIVE_HIVE_SECRET',
      'LAB_PRIVATE_NOTE',
    ]) {
      expect(text).not.toContain(name);
    }
    const shown = new Set(
      (json.services as Array<{ settings: Setting[] }>).flatMap((s) => s.settings.map((x) => x.name)),
    );
    const outside = Object.keys(f.exporter.env).filter((name) => !shown.has(name));
    expect(outside).toContain('LAB_PRIVATE_NOTE');
    expect(json.hiddenVariables).toBe(outside.length);
    expect(json.note).toMatch(
      /service variable set in balena for ingest or inference alone is not visible here/,
    );
  });

  it('the supervisor down: every route answers 502 in one line, and serves again once it is back', async () => {
    f.fake.setDown(true);
    try {
      for (const [method, route, body] of ROUTES) {
        const res = await f.call(method, route, { body });
        expect(res.status, `${method} ${route}`).toBe(502);
        expect(res.json.error).toMatch(
          /^the supervisor at http:\/\/127\.0\.0\.1:\d+ is unreachable \(\w+\)$/,
        );
        expect(res.text).not.toContain('\n');
      }
    } finally {
      f.fake.setDown(false);
    }
    expect((await f.call('GET', '/services', { role: 'view' })).status).toBe(200);
  });

  it('a supervisor that refuses the key: 502 in one line that does not hold the key', async () => {
    const root = await tempRoot();
    const wrongKey = 'wrongKey9876543210fedcba';
    const exporter = await startExporter({
      root,
      inferenceUrl: f.jobs.url,
      env: {
        ...f.exporter.env,
        BALENA_SUPERVISOR_API_KEY: wrongKey,
        SCOPEHIVE_DATA_DIR: path.join(root, 'data'),
      },
    });
    try {
      const res = await f.call('GET', '/device', { base: exporter.base, role: 'none' });
      expect(res.status).toBe(401);
      const admin = (await fs.readFile(path.join(exporter.tokenDir, 'admin.token'), 'utf8')).trim();
      const answer = await fetch(`${exporter.base}/api/v1/device`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      const text = await answer.text();
      expect(answer.status).toBe(502);
      expect(JSON.parse(text)).toEqual({
        error: 'the supervisor refused the API key on GET /v1/device (401)',
      });
      expect(text).not.toContain(wrongKey);
      expect(exporter.logs.join('')).not.toContain(wrongKey);
    } finally {
      await exporter.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('off balena (no supervisor address): every route answers 503 in one line and no token is made', async () => {
    const root = await tempRoot();
    const { BALENA_SUPERVISOR_ADDRESS: _gone, ...env } = f.exporter.env;
    const exporter = await startExporter({
      root,
      inferenceUrl: f.jobs.url,
      env: { ...env, SCOPEHIVE_DATA_DIR: path.join(root, 'data') },
    });
    try {
      for (const [method, route, body] of [...ROUTES, ['GET', '/settings', undefined] as const]) {
        const res = await f.call(method, route, { base: exporter.base, body, role: 'none' });
        expect(res.status, `${method} ${route}`).toBe(503);
        expect(res.json).toEqual({ error: 'device management needs balena (no supervisor address)' });
      }
      await expect(fs.access(exporter.tokenDir)).rejects.toThrow(/ENOENT/);
      // The exporter's own routes are unaffected.
      expect((await fetch(`${exporter.base}/healthz`)).status).toBe(200);
    } finally {
      await exporter.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('a token folder that cannot be used: the control API answers 503 in one line, the exporter serves on', async () => {
    const root = await tempRoot();
    const notAFolder = path.join(root, 'control');
    await fs.writeFile(notAFolder, 'a file where the token folder should be');
    const exporter = await startExporter({
      root,
      tokenDir: notAFolder,
      inferenceUrl: f.jobs.url,
      env: { ...f.exporter.env, SCOPEHIVE_DATA_DIR: path.join(root, 'data') },
    });
    try {
      const res = await f.call('GET', '/device', { base: exporter.base, role: 'none' });
      expect(res.status).toBe(503);
      expect(res.json.error).toMatch(
        new RegExp(`^control API unavailable: control tokens unavailable in ${notAFolder}: EEXIST`),
      );
      expect((await fetch(`${exporter.base}/healthz`)).status).toBe(200);
      expect((await fetch(`${exporter.base}/metrics`)).status).toBe(200);
    } finally {
      await exporter.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('no token, key or secret value appears in any answer, header, log line or the audit log', async () => {
    // Every route with every role once more, and a user header that tries to smuggle a token in.
    for (const role of ['none', 'view', 'admin'] as const) {
      for (const [method, route, body] of [...ROUTES, ['GET', '/settings', undefined] as const]) {
        await f.call(method, route, { role, body, user: f.tokens.admin });
      }
    }
    const audit = await fs.readFile(path.join(f.exporter.tokenDir, 'audit.log'), 'utf8');
    const everything = [...f.bodies, ...f.exporter.logs, audit].join('\n');
    for (const secret of [...NEVER_SHOWN, f.tokens.view, f.tokens.admin, API_KEY]) {
      expect(everything).not.toContain(secret);
    }
    expect(f.bodies.length).toBeGreaterThan(40);
    expect(audit).toContain('"user":"***"');
  });
});
