import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlFixture, DEVICE, startControlFixture } from './fixture.ts';
import { connectionRelay, eventually, startExporter } from './harness.ts';

let f: ControlFixture;
beforeAll(async () => {
  f = await startControlFixture();
});
afterAll(async () => {
  await f?.close();
});

type Line = { service?: string; time?: string; message: string };

describe("control API reads (fake supervisor following balena's documented contract)", () => {
  it.each(['/device', '/services', '/logs', '/settings'])(
    'GET %s: 401 without a token, 200 with the view or the admin token',
    async (route) => {
      const none = await f.call('GET', route, { role: 'none' });
      expect(none.status).toBe(401);
      expect(none.json).toEqual({ error: 'a control token is required' });
      expect((await f.call('GET', route, { role: 'view' })).status).toBe(200);
      expect((await f.call('GET', route, { role: 'admin' })).status).toBe(200);
    },
  );

  it('a wrong token counts as none', async () => {
    const res = await fetch(`${f.exporter.base}/api/v1/device`, {
      headers: { authorization: `Bearer ${f.tokens.admin}x` },
    });
    expect(res.status).toBe(401);
  });

  it('GET /device: the device, its versions and its update state with progress per image', async () => {
    f.fake.setState({
      updatePending: true,
      services: { inference: { imageStatus: 'Downloading', downloadProgress: 42 } },
    });
    try {
      const { json } = await f.call('GET', '/device', { role: 'view' });
      expect(json).toEqual({
        name: DEVICE,
        uuid: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
        deviceType: 'jetson-agx-orin-devkit',
        osVersion: 'balenaOS 6.0.13',
        supervisorVersion: '17.0.1',
        ipAddresses: ['127.0.0.1'],
        status: 'Idle',
        commit: f.fake.state().commit,
        update: {
          pending: true,
          downloading: true,
          downloaded: false,
          failed: false,
          progress: [{ service: 'inference', progress: 42 }],
        },
      });
    } finally {
      f.fake.setState({
        updatePending: false,
        services: { inference: { imageStatus: 'Downloaded', downloadProgress: null } },
      });
    }
  });

  it('GET /services: every service with its state and image', async () => {
    const { json } = await f.call('GET', '/services', { role: 'view' });
    const services = json.services as Array<{
      name: string;
      status: string;
      image: string;
      createdAt?: string;
    }>;
    expect(services.map((s) => s.name)).toEqual([
      'exporter',
      'grafana',
      'inference',
      'ingest',
      'nats',
      'nfs',
      'prometheus',
    ]);
    const inference = services.find((s) => s.name === 'inference');
    expect(inference).toMatchObject({ status: 'Running', image: f.fake.state().services.inference.image });
    expect(Number.isNaN(Date.parse(inference?.createdAt ?? ''))).toBe(false);
  });

  it('GET /logs: lines of one service or of all, named by service; lines clamped to 1..5000', async () => {
    f.fake.addLog('ingest', 'ingest saw a.tif');
    f.fake.addLog(undefined, 'supervisor line');
    const one = await f.call('GET', '/logs?service=ingest&lines=10', { role: 'view' });
    expect(one.status).toBe(200);
    const lines = one.json.lines as Line[];
    expect(lines.map((l) => l.message)).toEqual(['ingest started', 'ingest saw a.tif']);
    expect(lines.every((l) => l.service === 'ingest' && !Number.isNaN(Date.parse(l.time ?? '')))).toBe(true);

    const every = (await f.call('GET', '/logs', { role: 'view' })).json.lines as Line[];
    expect(every).toContainEqual(expect.objectContaining({ service: 'ingest', message: 'ingest saw a.tif' }));
    expect(every).toContainEqual(
      expect.objectContaining({ service: 'balena-supervisor', message: 'supervisor line' }),
    );

    const counts = () =>
      f.fake.calls
        .filter((c) => c.path === '/v2/journal-logs')
        .map((c) => (c.body as { count: number }).count);
    await f.call('GET', '/logs?lines=999999', { role: 'view' });
    await f.call('GET', '/logs?lines=0', { role: 'view' });
    expect(counts().slice(-2)).toEqual([5000, 1]);
  });

  it('GET /logs refuses a bad line count and a service not on the device, in one line', async () => {
    const bad = await f.call('GET', '/logs?lines=lots', { role: 'view' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'lines must be a whole number (1 to 5000)' });
    const unknown = await f.call('GET', '/logs?service=../../etc', { role: 'view' });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: 'no service named "../../etc" on this device' });
  });

  it('GET /logs?follow=1 streams new lines as server-sent events and stops reading when the reader leaves', async () => {
    const relay = await connectionRelay(f.fake.url);
    const relayedRoot = path.join(f.root, 'relayed');
    const relayed = await startExporter({
      root: relayedRoot,
      inferenceUrl: f.jobs.url,
      env: {
        ...f.exporter.env,
        BALENA_SUPERVISOR_ADDRESS: relay.url,
        SCOPEHIVE_DATA_DIR: path.join(relayedRoot, 'data'),
      },
    });
    try {
      const viewToken = (await fs.readFile(path.join(relayed.tokenDir, 'view.token'), 'utf8')).trim();
      const reader = new AbortController();
      const res = await fetch(`${relayed.base}/api/v1/logs?service=inference&lines=1&follow=1`, {
        headers: { authorization: `Bearer ${viewToken}` },
        signal: reader.signal,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const body = res.body!.getReader();
      let text = '';
      const readUntil = async (wanted: string) => {
        while (!text.includes(wanted)) {
          const chunk = await body.read();
          if (chunk.done) throw new Error(`the stream ended before ${wanted}`);
          text += Buffer.from(chunk.value).toString('utf8');
        }
      };
      await readUntil('inference started');
      f.fake.addLog('inference', 'analysed b.tif');
      f.fake.addLog('ingest', 'not this one');
      await readUntil('analysed b.tif');
      const events = text
        .split('\n\n')
        .filter((e) => e.startsWith('data: '))
        .map((e) => JSON.parse(e.slice('data: '.length)) as Line);
      expect(events.map((e) => e.message)).toEqual(['inference started', 'analysed b.tif']);
      expect(events[1]).toMatchObject({ service: 'inference' });

      const streams = () => relay.connections.filter((c) => c.head.includes('POST /v2/journal-logs'));
      expect(streams().some((c) => c.open)).toBe(true);
      reader.abort();
      await eventually(() => expect(streams().every((c) => !c.open)).toBe(true));
      const after = await fetch(`${relayed.base}/api/v1/services`, {
        headers: { authorization: `Bearer ${viewToken}` },
      });
      expect(after.status).toBe(200);
    } finally {
      await relayed.close();
      await relay.close();
    }
  });
});
