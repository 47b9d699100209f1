import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ControlFixture, DEVICE, startControlFixture } from './fixture.ts';
import { eventually } from './harness.ts';

let f: ControlFixture;
beforeAll(async () => {
  f = await startControlFixture();
});
afterAll(async () => {
  await f?.close();
});
beforeEach(() => {
  f.fake.setLocked(false);
  f.jobs.inFlight = 2;
});

/** The actions the fake supervisor was asked for since `from` (its calls index). */
const actionsSince = (from: number) =>
  f.fake.calls.slice(from).filter((c) => c.method === 'POST' && c.path !== '/v2/journal-logs');

const ACTIONS = [
  {
    route: '/services/inference/restart',
    body: undefined,
    supervisor: { path: '/v2/applications/1868586/restart-service', body: { serviceName: 'inference' } },
  },
  { route: '/reboot', body: { confirm: DEVICE }, supervisor: { path: '/v1/reboot', body: { force: false } } },
  {
    route: '/shutdown',
    body: { confirm: DEVICE },
    supervisor: { path: '/v1/shutdown', body: { force: false } },
  },
  { route: '/update', body: undefined, supervisor: { path: '/v1/update', body: { force: false } } },
];

describe("control API actions (fake supervisor following balena's documented contract)", () => {
  it.each(ACTIONS)(
    'POST $route: 401 without a token, 403 with the view token, done with the admin token',
    async ({ route, body, supervisor }) => {
      const from = f.fake.calls.length;
      const none = await f.call('POST', route, { role: 'none', body });
      expect(none.status).toBe(401);
      const view = await f.call('POST', route, { role: 'view', body });
      expect(view.status).toBe(403);
      expect(view.json).toEqual({ error: 'this action needs the admin token' });
      expect(actionsSince(from)).toEqual([]);

      const admin = await f.call('POST', route, { role: 'admin', body });
      expect(admin.status).toBe(200);
      expect(admin.json).toEqual({ ok: true });
      expect(actionsSince(from)).toMatchObject([{ ...supervisor, authorized: true, keyInQuery: false }]);
    },
  );

  it.each(['/reboot', '/shutdown'])(
    'POST %s without the device name typed: 400, nothing done',
    async (route) => {
      const from = f.fake.calls.length;
      for (const body of [{ confirm: 'scope-lab-8' }, { confirm: DEVICE.toUpperCase() }, {}, undefined]) {
        const res = await f.call('POST', route, { body });
        expect(res.status).toBe(400);
        expect(res.text).not.toContain('\n');
      }
      const wrong = await f.call('POST', route, { body: { confirm: 'scope-lab-8' } });
      expect(wrong.json).toEqual({ error: `confirm must be the device's name to ${route.slice(1)}` });
      const badForce = await f.call('POST', route, { body: { confirm: DEVICE, force: 'yes' } });
      expect(badForce.json).toEqual({ error: 'force must be true or false' });
      expect(actionsSince(from)).toEqual([]);
    },
  );

  it('a device whose name the supervisor does not give cannot be rebooted by typing nothing', async () => {
    f.fake.setState({ deviceName: '' });
    try {
      const from = f.fake.calls.length;
      const res = await f.call('POST', '/reboot', { body: { confirm: '' } });
      expect(res.status).toBe(502);
      expect(res.json).toEqual({
        error: "the supervisor does not give the device's name, so a reboot cannot be confirmed",
      });
      expect(actionsSince(from)).toEqual([]);
    } finally {
      f.fake.setState({ deviceName: DEVICE });
    }
  });

  it('a body that is not JSON is one 400 line', async () => {
    const res = await fetch(`${f.exporter.base}/api/v1/reboot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.tokens.admin}`, 'content-type': 'application/json' },
      body: '{"confirm":',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'the body is not valid JSON' });
  });

  it.each(['/reboot', '/shutdown'])(
    'POST %s while an update lock is held: 409 with the jobs in flight, unless forced by the admin',
    async (route) => {
      f.fake.setLocked(true);
      const from = f.fake.calls.length;
      const held = await f.call('POST', route, { body: { confirm: DEVICE } });
      expect(held.status).toBe(409);
      expect(held.json).toEqual({
        error: 'an update lock is held (2 job(s) in flight): force: true goes ahead anyway',
        jobsInFlight: 2,
      });
      const viewForce = await f.call('POST', route, { role: 'view', body: { confirm: DEVICE, force: true } });
      expect(viewForce.status).toBe(403);
      const forced = await f.call('POST', route, { body: { confirm: DEVICE, force: true } });
      expect(forced.status).toBe(200);
      expect(actionsSince(from).map((c) => c.body)).toEqual([{ force: false }, { force: true }]);
    },
  );

  it('a reboot while the lock is held and the inference service is down: 409 with jobsInFlight null', async () => {
    f.fake.setLocked(true);
    f.jobs.down = true;
    try {
      const held = await f.call('POST', '/reboot', { body: { confirm: DEVICE } });
      expect(held.status).toBe(409);
      expect(held.json).toEqual({
        error: 'an update lock is held (jobs in flight unknown): force: true goes ahead anyway',
        jobsInFlight: null,
      });
    } finally {
      f.jobs.down = false;
    }
  });

  it('a restart while the lock is held is 409; a service not on the device is 404, nothing done', async () => {
    f.fake.setLocked(true);
    expect((await f.call('POST', '/services/inference/restart')).status).toBe(409);
    f.fake.setLocked(false);
    const from = f.fake.calls.length;
    const unknown = await f.call('POST', '/services/nginx/restart');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: 'no service named "nginx" on this device' });
    expect(actionsSince(from)).toEqual([]);
  });

  it('every action asked for is one audit line (who, what, when, result) and a count', async () => {
    const auditFile = path.join(f.exporter.tokenDir, 'audit.log');
    await f.call('POST', '/services/ingest/restart', { user: 'audit-alice@lab.example' });
    await f.call('POST', '/reboot', { role: 'view', user: 'audit-bob', body: { confirm: DEVICE } });
    await f.call('POST', '/reboot', { user: 'audit-alice@lab.example', body: { confirm: 'nope' } });
    await f.call('POST', '/update', { role: 'none', user: 'audit-mallory' });
    // Lines of this test only: the other tests' actions are audited in the same file.
    const ours = async () =>
      (await fs.readFile(auditFile, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.user.startsWith('audit-'));
    await eventually(async () => (await ours()).length === 4);
    const lines = await ours();
    expect(lines.map(({ time: _t, ...rest }) => rest)).toEqual([
      {
        user: 'audit-alice@lab.example',
        role: 'admin',
        action: 'restart',
        target: 'ingest',
        result: 'ok',
        status: 200,
      },
      { user: 'audit-bob', role: 'view', action: 'reboot', target: 'device', result: 'denied', status: 403 },
      {
        user: 'audit-alice@lab.example',
        role: 'admin',
        action: 'reboot',
        target: 'device',
        result: 'refused',
        status: 400,
      },
      {
        user: 'audit-mallory',
        role: 'none',
        action: 'update',
        target: 'device',
        result: 'denied',
        status: 401,
      },
    ]);
    for (const l of lines) expect(Number.isNaN(Date.parse(l.time))).toBe(false);
    expect((await fs.stat(auditFile)).mode & 0o777).toBe(0o640);

    const audited = f.exporter.logs
      .map((l) => JSON.parse(l))
      .filter((l) => l.audit?.user.startsWith('audit-'))
      .map((l) => l.audit.result);
    expect(audited).toEqual(['ok', 'denied', 'refused', 'denied']);
    const metrics = await f.exporter.running.metrics.metrics();
    expect(metrics).toMatch(
      /scopehive_control_actions_total\{action="restart",result="ok",node="[^"]+"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /scopehive_control_actions_total\{action="reboot",result="denied",node="[^"]+"\} [1-9]/,
    );
  });
});
