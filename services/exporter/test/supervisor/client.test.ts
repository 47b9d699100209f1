import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSupervisor, startFakeSupervisor } from '../../../../test/fakes/balena-supervisor.ts';
import {
  createSupervisorClient,
  type SupervisorClient,
  SupervisorFailed,
  SupervisorLocked,
  SupervisorUnavailable,
  supervisorFromEnv,
} from '../../src/supervisor/client.ts';
import { parseJournalLine } from '../../src/supervisor/journal.ts';

/**
 * The supervisor client against a fake supervisor following balena's documented contract
 * (test/fakes/balena-supervisor.ts says which pages): every call, the key only in a header,
 * refusals, and a supervisor that is down, too slow or answers nonsense. (Past 300 lines: one
 * test per call and per failure, sharing the fake's set-up.)
 */

const apiKey = 'c0ffee5ecre7a91c0ffee5ecre7a91de';
const deviceName = 'holy-wildflower';
let fake: FakeSupervisor;
let client: SupervisorClient;

function env(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    BALENA_SUPERVISOR_ADDRESS: fake.url,
    BALENA_SUPERVISOR_API_KEY: apiKey,
    BALENA_APP_ID: String(fake.appId),
    BALENA_DEVICE_UUID: '7cf02a687b74206f92cb455969cf8e98',
    BALENA_DEVICE_TYPE: 'jetson-agx-orin-devkit',
    ...overrides,
  };
}

function fromEnv(overrides: NodeJS.ProcessEnv = {}): SupervisorClient {
  const c = supervisorFromEnv(env(overrides), { timeoutMs: 5_000 });
  if (!c) throw new Error('expected a client');
  return c;
}

/** The rejection of `promise`, which must reject. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** A server that answers every request with `handler`; closed after the test. */
const extraServers: http.Server[] = [];
async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  extraServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  fake = await startFakeSupervisor({ apiKey, deviceName });
  client = fromEnv();
});
afterEach(async () => {
  await fake.close();
  for (const s of extraServers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

describe('supervisor client against a fake supervisor following balena documented contract', () => {
  it('is absent off balena (no supervisor address)', () => {
    expect(supervisorFromEnv({})).toBeUndefined();
    expect(supervisorFromEnv({ BALENA_SUPERVISOR_API_KEY: apiKey })).toBeUndefined();
    expect(new SupervisorUnavailable().message).toBe(
      'device management needs balena (no supervisor address)',
    );
  });

  it('reads the device: GET /v1/device and GET /v2/device/name, identity from the environment', async () => {
    fake.setState({
      updatePending: true,
      status: 'Downloading',
      downloadProgress: 84,
      ipAddresses: ['192.168.0.114', '10.42.0.3'],
    });
    const device = await client.device();
    expect(device).toEqual({
      name: deviceName,
      uuid: '7cf02a687b74206f92cb455969cf8e98',
      deviceType: 'jetson-agx-orin-devkit',
      osVersion: 'balenaOS 6.0.13',
      supervisorVersion: '17.0.1',
      ipAddresses: ['192.168.0.114', '10.42.0.3'],
      status: 'Downloading',
      commit: fake.state().commit,
      updatePending: true,
      updateDownloaded: false,
      updateFailed: false,
      downloadProgress: 84,
    });
    expect(fake.calls.map((c) => `${c.method} ${c.path}`).sort()).toEqual([
      'GET /v1/device',
      'GET /v2/device/name',
    ]);
  });

  it('sends the key only as a bearer header, never in a URL', async () => {
    await client.device();
    await client.stateStatus();
    await client.applications();
    await client.update(false);
    expect(fake.calls.length).toBeGreaterThan(0);
    for (const call of fake.calls) {
      expect(call.authorized).toBe(true);
      expect(call.keyInQuery).toBe(false);
      expect(JSON.stringify(call.query)).not.toContain(apiKey);
    }
  });

  it('reads the state status and the applications state', async () => {
    fake.setState({
      appState: 'applying',
      services: { inference: { imageStatus: 'Downloading', downloadProgress: 30 } },
    });
    const status = await client.stateStatus();
    expect(status.appState).toBe('applying');
    expect(status.overallDownloadProgress).toBe(30);
    expect(status.release).toBe(fake.state().commit);
    expect(status.containers.map((c) => c.serviceName)).toContain('inference');
    expect(status.containers.every((c) => c.status === 'Running' && c.containerId?.length === 64)).toBe(true);
    expect(status.images.find((i) => i.serviceName === 'inference')).toMatchObject({
      status: 'Downloading',
      downloadProgress: 30,
    });

    const { apps } = await client.applications();
    expect(apps).toHaveLength(1);
    expect(apps[0]).toMatchObject({ name: 'scopehive', appId: fake.appId, updateStatus: 'downloading' });
    expect(apps[0]?.services.find((s) => s.name === 'grafana')).toMatchObject({
      status: 'Running',
      downloadProgress: null,
    });
    expect(apps[0]?.services.find((s) => s.name === 'grafana')?.image).toMatch(
      /^registry2\.balena-cloud\.com\//,
    );
  });

  it('restarts, stops and starts a service of the app named by BALENA_APP_ID', async () => {
    await client.stopService('ingest');
    expect(fake.state().services.ingest?.status).toBe('exited');
    await client.startService('ingest');
    expect(fake.state().services.ingest?.status).toBe('Running');
    await client.restartService('grafana');
    expect(fake.calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.body])).toEqual([
      [`/v2/applications/${fake.appId}/stop-service`, { serviceName: 'ingest' }],
      [`/v2/applications/${fake.appId}/start-service`, { serviceName: 'ingest' }],
      [`/v2/applications/${fake.appId}/restart-service`, { serviceName: 'grafana' }],
    ]);
    const err = await failure(client.restartService('no-such-service'));
    expect(err).toBeInstanceOf(SupervisorFailed);
    expect((err as SupervisorFailed).status).toBe(404);
  });

  it('finds the app id from GET /v2/applications/state when BALENA_APP_ID is not set', async () => {
    await fromEnv({ BALENA_APP_ID: undefined }).restartService('nats');
    expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /v2/applications/state',
      `POST /v2/applications/${fake.appId}/restart-service`,
    ]);
  });

  it('reboots, shuts down and checks for an update, passing force', async () => {
    await client.reboot(false);
    await client.shutdown(true);
    await client.update(true);
    expect(fake.calls.map((c) => [c.path, c.body])).toEqual([
      ['/v1/reboot', { force: false }],
      ['/v1/shutdown', { force: true }],
      ['/v1/update', { force: true }],
    ]);
  });

  it('answers SupervisorLocked when the supervisor says 423 (update lock held), unless forced', async () => {
    fake.setLocked(true);
    for (const act of [
      () => client.reboot(false),
      () => client.shutdown(false),
      () => client.restartService('inference'),
    ]) {
      const err = await failure(act());
      expect(err).toBeInstanceOf(SupervisorLocked);
      expect(err.message).toMatch(/update lock/);
    }
    await expect(client.reboot(true)).resolves.toBeUndefined();
    await expect(client.shutdown(true)).resolves.toBeUndefined();
    // As documented: /v1/update answers 204 and a locked update is not applied (update_failed).
    fake.setState({ updatePending: true });
    await client.update(false);
    expect((await client.device()).updateFailed).toBe(true);
  });

  it('refuses a wrong key with 401 and never names the key', async () => {
    const wrong = 'deadbeefdeadbeefdeadbeefdeadbeef';
    const err = await failure(fromEnv({ BALENA_SUPERVISOR_API_KEY: wrong }).device());
    expect(err).toBeInstanceOf(SupervisorFailed);
    expect((err as SupervisorFailed).status).toBe(401);
    expect(err.message).not.toContain(wrong);
    expect(fake.calls.every((c) => !c.authorized)).toBe(true);
  });

  it('says in one line without the key that the supervisor is down', async () => {
    fake.setDown(true);
    const down = await failure(client.device());
    expect(down).toBeInstanceOf(SupervisorFailed);
    expect(down.message).toMatch(/^the supervisor at http:\/\/127\.0\.0\.1:\d+ is unreachable \(\w+/);

    const closed = await serve(() => undefined);
    extraServers[0]?.close();
    extraServers[0]?.closeAllConnections();
    const refused = await failure(fromEnv({ BALENA_SUPERVISOR_ADDRESS: closed }).stateStatus());
    expect(refused.message).toMatch(/unreachable \(ECONNREFUSED\)/);

    for (const err of [down, refused]) {
      expect(err.message).not.toContain('\n');
      expect(err.message).not.toContain(apiKey);
      expect(String(err.stack)).not.toContain(apiKey);
    }
  });

  it('gives up on a supervisor that does not answer, at the deadline', async () => {
    const silent = await serve(() => undefined);
    const slow = createSupervisorClient({ address: silent, apiKey, timeoutMs: 200 });
    const err = await failure(slow.stateStatus());
    expect(err).toBeInstanceOf(SupervisorFailed);
    expect(err.message).toBe('the supervisor did not answer GET /v2/state/status within 200 ms');
  });

  it('keeps a key that is not a header value out of the error fetch would raise', async () => {
    const broken = `${apiKey}\r\nX-Leak: ${apiKey}`;
    const err = await failure(fromEnv({ BALENA_SUPERVISOR_API_KEY: broken }).device());
    expect(err).toBeInstanceOf(SupervisorFailed);
    expect(err.message).not.toContain(apiKey);
    expect(fake.calls).toHaveLength(0);
  });

  it('turns a 5xx, text that is not JSON and JSON of the wrong shape into one line, without the key', async () => {
    const odd = await serve((req, res) => {
      if (req.url === '/v2/state/status') res.writeHead(200).end(`<html>${apiKey}</html>`);
      else if (req.url === '/v2/applications/state') res.writeHead(200).end('[1, 2]');
      else
        res
          .writeHead(503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'failed', message: `boom ${apiKey}\nsecond line` }));
    });
    const c = createSupervisorClient({ address: odd, apiKey, timeoutMs: 5_000 });
    const errors = [
      await failure(c.stateStatus()),
      await failure(c.applications()),
      await failure(c.reboot(false)),
    ];
    expect(errors.map((e) => e.message)).toEqual([
      'the supervisor answered GET /v2/state/status with something that is not JSON',
      'the supervisor answered GET /v2/applications/state unexpectedly: GET /v2/applications/state is not a JSON object',
      'the supervisor answered POST /v1/reboot with 503: boom ***',
    ]);
    expect((errors[2] as SupervisorFailed).status).toBe(503);
  });

  it('reads the last lines of the journal, of the device or of one service', async () => {
    fake.addLog('inference', 'model yolov8n loaded');
    fake.addLog(undefined, 'kernel: usb 1-1: new device');
    fake.addLog('inference', 'job 1 done');

    const all = await collect(
      await client.journalLogs({ lines: 200, follow: false }, new AbortController().signal),
    );
    expect(all).toHaveLength(7 + 3);
    expect(parseJournalLine(all.at(-1) ?? '').message).toBe('job 1 done');

    const two = await collect(
      await client.journalLogs(
        { service: 'inference', lines: 2, follow: false },
        new AbortController().signal,
      ),
    );
    expect(two.map((l) => parseJournalLine(l).message)).toEqual(['model yolov8n loaded', 'job 1 done']);
    const journal = fake.calls.find((c) => c.path === '/v2/journal-logs');
    expect(journal?.body).toMatchObject({ count: 200, follow: false, format: 'short-iso' });

    const err = await failure(
      client.journalLogs({ service: 'nope', lines: 5, follow: false }, new AbortController().signal),
    );
    expect(err).toBeInstanceOf(SupervisorFailed);
    expect((err as SupervisorFailed).status).toBe(404);
  });

  it('follows the journal until aborted, then the stream ends', async () => {
    const abort = new AbortController();
    const lines = await client.journalLogs({ service: 'ingest', lines: 10, follow: true }, abort.signal);
    const seen: string[] = [];
    for await (const line of lines) {
      seen.push(parseJournalLine(line).message);
      if (seen.length === 1) fake.addLog('ingest', 'inbox/a.tif queued');
      if (seen.length === 2) abort.abort();
    }
    expect(seen).toEqual(['ingest started', 'inbox/a.tif queued']);
  });

  it('parses journalctl short-iso lines', () => {
    expect(parseJournalLine('2024-05-01T10:00:00+0000 balena 3c4e1a2b5f6d[1234]: job 1 done')).toEqual({
      time: '2024-05-01T10:00:00.000Z',
      identifier: '3c4e1a2b5f6d',
      message: 'job 1 done',
    });
    expect(parseJournalLine('2024-05-01T12:00:00+02:00 host kernel: usb 1-1: new')).toEqual({
      time: '2024-05-01T10:00:00.000Z',
      identifier: 'kernel',
      message: 'usb 1-1: new',
    });
    expect(parseJournalLine('-- No entries --')).toEqual({ message: '-- No entries --' });
  });
});
