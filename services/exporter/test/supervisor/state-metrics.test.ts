import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSupervisor, startFakeSupervisor } from '../../../../test/fakes/balena-supervisor.ts';
import { createSupervisorClient } from '../../src/supervisor/client.ts';
import { type SupervisorMetrics, startSupervisorMetrics } from '../../src/supervisor/state-metrics.ts';

/**
 * Device state as metrics, polled from a fake supervisor following balena's documented contract.
 * Each poll is a `refresh()` the test awaits: no waiting on the interval.
 */

const apiKey = 'c0ffee5ecre7a91c0ffee5ecre7a91de';
let fake: FakeSupervisor;
let registry: Registry;
let metrics: SupervisorMetrics;
let logLines: Array<{ level: number; msg: string; err?: string }>;

function logger() {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

/** Every sample of `name` as `labels → value`, labels written `k=v,k=v`. */
async function samples(name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? []) {
    const labels = Object.entries(v.labels)
      .map(([k, l]) => `${k}=${l}`)
      .join(',');
    out[labels] = v.value;
  }
  return out;
}

async function value(name: string, labels = ''): Promise<number | undefined> {
  return (await samples(name))[labels];
}

beforeEach(async () => {
  fake = await startFakeSupervisor({
    apiKey,
    deviceName: 'holy-wildflower',
    services: ['ingest', 'inference'],
  });
  registry = new Registry();
  logLines = [];
  metrics = startSupervisorMetrics({
    client: createSupervisorClient({ address: fake.url, apiKey, timeoutMs: 5_000 }),
    registry,
    logger: logger(),
    intervalMs: 3_600_000,
  });
  await metrics.refresh();
});
afterEach(async () => {
  await metrics.close();
  await fake.close();
});

describe('supervisor state as metrics, from a fake supervisor following balena documented contract', () => {
  it('exports reachability, the update flags and one-hot service states', async () => {
    expect(await value('scopehive_supervisor_up')).toBe(1);
    expect(await value('scopehive_update_pending')).toBe(0);
    expect(await value('scopehive_update_downloading')).toBe(0);
    expect(await value('scopehive_update_failed')).toBe(0);
    expect(await samples('scopehive_update_download_progress')).toEqual({});
    const states = await samples('scopehive_service_state');
    expect(states['service=ingest,state=running']).toBe(1);
    expect(states['service=inference,state=running']).toBe(1);
    expect(states['service=ingest,state=exited']).toBe(0);
    // Every known state of each service, exactly one of them 1.
    expect(Object.keys(states)).toHaveLength(2 * 11);
    expect(Object.values(states).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('follows an update: pending, downloading with progress per service (0 to 1), failed', async () => {
    fake.setState({
      updatePending: true,
      status: 'Downloading',
      services: { inference: { imageStatus: 'Downloading', downloadProgress: 42 } },
    });
    await metrics.refresh();
    expect(await value('scopehive_update_pending')).toBe(1);
    expect(await value('scopehive_update_downloading')).toBe(1);
    expect(await samples('scopehive_update_download_progress')).toEqual({ 'service=inference': 0.42 });

    fake.setState({
      status: 'Idle',
      updateDownloaded: true,
      updateFailed: true,
      services: { inference: { imageStatus: 'Downloaded', downloadProgress: null } },
    });
    await metrics.refresh();
    expect(await value('scopehive_update_downloading')).toBe(0);
    expect(await value('scopehive_update_failed')).toBe(1);
    expect(await samples('scopehive_update_download_progress')).toEqual({});
  });

  it('shows a stopped service, and a new service whose image is still downloading', async () => {
    fake.setState({
      services: {
        ingest: { status: 'exited' },
        nats: { status: null, imageStatus: 'Downloading', downloadProgress: 5 },
      },
    });
    await metrics.refresh();
    const states = await samples('scopehive_service_state');
    expect(states['service=ingest,state=exited']).toBe(1);
    expect(states['service=ingest,state=running']).toBe(0);
    expect(states['service=nats,state=downloading']).toBe(1);
    expect(await samples('scopehive_update_download_progress')).toEqual({ 'service=nats': 0.05 });
  });

  it('sets up to 0 while the supervisor is down, withdraws the rest, warns once, and recovers', async () => {
    fake.setDown(true);
    for (let i = 0; i < 3; i++) await metrics.refresh();
    expect(await value('scopehive_supervisor_up')).toBe(0);
    expect(await samples('scopehive_update_pending')).toEqual({});
    expect(await samples('scopehive_service_state')).toEqual({});
    const warnings = logLines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toBe('balena supervisor unreachable');
    expect(warnings[0]?.err).toMatch(/^the supervisor at http:\/\/127\.0\.0\.1:\d+ is unreachable/);
    expect(JSON.stringify(logLines)).not.toContain(apiKey);

    fake.setDown(false);
    await metrics.refresh();
    expect(await value('scopehive_supervisor_up')).toBe(1);
    expect(await value('scopehive_service_state', 'service=ingest,state=running')).toBe(1);
    expect(logLines.at(-1)?.msg).toBe('balena supervisor reachable again');
  });

  it('exports nothing off balena (no client)', async () => {
    const offBalena = new Registry();
    const none = startSupervisorMetrics({ client: undefined, registry: offBalena, logger: logger() });
    await none.refresh();
    expect((await offBalena.metrics()).trim()).toBe('');
    await none.close();
  });
});
