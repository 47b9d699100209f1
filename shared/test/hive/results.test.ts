import { createHash, randomBytes } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HiveResult } from '../../src/hive/result-message.ts';
import {
  consumeResults,
  ensureResultsStream,
  publishResult,
  RESULTS_STREAM,
  type ResultsConsumer,
  resultsSubject,
} from '../../src/hive/results.ts';
import { nodeToken } from '../../src/hive/token.ts';
import { type Job, makeJob } from '../../src/job.ts';
import { RESULT_SCHEMA, type ResultDocument } from '../../src/result/schema.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { logLines } from '../queue/log-lines.ts';

let server: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
const consumers: ResultsConsumer[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
  jsm = await js.jetstreamManager();
  await ensureResultsStream(jsm);
});
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await nc?.close();
  await server?.close();
});

function job(origin: string, n: number): Job {
  return makeJob({
    origin,
    image: { path: `run1/img${n}.tif`, bytes: 1000 + n, sha256: `${n}`.padStart(64, '0') },
    model: { name: 'particles', sha256: 'f'.repeat(64) },
    seenAt: 1_700_000_000_000 + n,
  });
}

function doc(j: Job, node = 'worker-1'): ResultDocument {
  return {
    schema: RESULT_SCHEMA,
    jobId: j.id,
    image: {
      path: j.image.path,
      width: 640,
      height: 480,
      bytes: j.image.bytes,
      sha256: j.image.sha256,
      format: 'tiff',
    },
    model: {
      name: j.model.name,
      file: `${j.model.name}.onnx`,
      sha256: j.model.sha256,
      provider: 'cpu',
      input: { width: 640, height: 640 },
      layout: 'yolov8',
      confidence: 0.25,
      iou: 0.45,
      maxDetections: 300,
    },
    node,
    analysedAt: '2026-01-01T00:00:00.000Z',
    calibration: { source: 'uncalibrated', detail: 'none' },
    analysedArea: { width: 640, height: 480, source: 'whole image' },
    tiling: { tiles: 1, mode: 'none', overlap: 0, wholeImagePass: true },
    summary: {
      count: 0,
      unit: 'px',
      totalArea: 0,
      meanArea: 0,
      areaPercent: 0,
      classes: [],
      edgeTouchingCount: 0,
      measuredCount: 0,
      edgeFeatures: 'exclude',
      areaSource: 'box',
    },
    warnings: [],
    timings: {},
    counts: {},
    detections: [],
  };
}

/** The origin's writer: records every result it was given and every one it wrote. */
function sink(origin: string, options: { failFirst?: boolean } = {}) {
  const calls: HiveResult[] = [];
  const written: HiveResult[] = [];
  const log = logLines();
  const start = () => {
    const consumer = consumeResults(
      js,
      origin,
      async (result) => {
        calls.push(result);
        if (options.failFirst && calls.length === 1) throw new Error('share is read-only');
        written.push(result);
      },
      { log: log.logger, retryDelayMs: 100 },
    );
    consumers.push(consumer);
    return consumer;
  };
  return { calls, written, log, start };
}

/** Nothing of `origin`'s is waiting or in hand: every result published to it has been settled. */
async function settled(origin: string): Promise<void> {
  await until(async () => {
    const info = await jsm.consumers
      .info(RESULTS_STREAM, `results-${nodeToken(origin)}`)
      .catch(() => undefined);
    return info !== undefined && info.num_pending === 0 && info.num_ack_pending === 0;
  });
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ids = (results: HiveResult[]) => results.map((r) => r.job.id).sort();

describe('results travelling back', () => {
  it('delivers each origin only its own results', async () => {
    const a = sink('scope-a');
    const b = sink('scope.b.local');
    a.start();
    b.start();
    const forA = [job('scope-a', 1), job('scope-a', 2)];
    const forB = [job('scope.b.local', 1)];
    for (const j of [...forA, ...forB]) await publishResult(js, { job: j, doc: doc(j) });
    await settled('scope-a');
    await settled('scope.b.local');
    expect(ids(a.written)).toEqual(ids(forA.map((j) => ({ job: j, doc: doc(j) }))));
    expect(ids(b.written)).toEqual([forB[0]?.id]);
    expect(b.written[0]?.doc).toEqual(doc(forB[0] as Job));
  });

  it('writes a result published twice exactly once', async () => {
    const a = sink('scope-twice');
    const j = job('scope-twice', 1);
    // A worker published, died before acknowledging its job, and the next worker published again.
    expect(await publishResult(js, { job: j, doc: doc(j, 'worker-1') })).toEqual({
      duplicate: false,
      annotated: false,
      labels: false,
    });
    expect(await publishResult(js, { job: j, doc: doc(j, 'worker-2') })).toEqual({
      duplicate: true,
      annotated: false,
      labels: false,
    });
    a.start();
    await settled('scope-twice');
    expect(a.calls.map((r) => r.doc.node)).toEqual(['worker-1']);
  });

  it('brings a result back after its writer failed, and writes it once', async () => {
    const a = sink('scope-fail', { failFirst: true });
    a.start();
    const j = job('scope-fail', 1);
    await publishResult(js, { job: j, doc: doc(j) });
    await until(() => a.written.length === 1);
    await settled('scope-fail');
    expect(a.calls.length).toBe(2);
    expect(ids(a.written)).toEqual([j.id]);
    expect(a.log.lines.filter((l) => l.msg === 'cannot write a result')).toMatchObject([
      { job: j.id, attempt: 1, err: 'share is read-only' },
    ]);
  });

  it('keeps results for an origin that is away and delivers them when it is back', async () => {
    const a = sink('scope-away');
    const early = job('scope-away', 0);
    // Published before the origin's writer ever ran.
    await publishResult(js, { job: early, doc: doc(early) });
    const first = a.start();
    await settled('scope-away');
    await first.close();
    const meanwhile = [1, 2, 3].map((n) => job('scope-away', n));
    for (const j of meanwhile) await publishResult(js, { job: j, doc: doc(j) });
    expect(ids(a.written)).toEqual([early.id]);
    a.start();
    await settled('scope-away');
    expect(ids(a.written)).toEqual([early, ...meanwhile].map((j) => j.id).sort());
  });

  it('carries the annotated image intact, and a document without an image too large for a message', async () => {
    const a = sink('scope-images');
    a.start();
    const small = randomBytes(300_000);
    const large = randomBytes(nc.info?.max_payload ?? 1024 * 1024);
    const [j1, j2] = [job('scope-images', 1), job('scope-images', 2)];
    const log = logLines();
    expect(await publishResult(js, { job: j1, doc: doc(j1), annotated: small })).toMatchObject({
      annotated: true,
    });
    expect(
      await publishResult(js, { job: j2, doc: doc(j2), annotated: large }, { log: log.logger }),
    ).toMatchObject({
      annotated: false,
    });
    await settled('scope-images');
    const byId = new Map(a.written.map((r) => [r.job.id, r]));
    const hash = (b?: Uint8Array) => b && createHash('sha256').update(b).digest('hex');
    expect(hash(byId.get(j1.id)?.annotated)).toBe(hash(small));
    expect(byId.get(j2.id)?.annotatedOmittedBytes).toBe(large.length);
    expect(byId.get(j2.id)?.annotated).toBeUndefined();
    expect(log.lines.map((l) => l.msg)).toEqual([
      'annotated image is larger than a NATS message may be; the result travels without it',
    ]);
  });

  it('carries a label image after the annotated one, and drops the picture before the labels', async () => {
    const a = sink('scope-labels');
    a.start();
    const max = nc.info?.max_payload ?? 1024 * 1024;
    const small = randomBytes(200_000);
    const labels = randomBytes(300_000);
    const [j1, j2, j3] = [1, 2, 3].map((n) => job('scope-labels', n));
    const log = logLines();
    expect(await publishResult(js, { job: j1, doc: doc(j1), annotated: small, labels })).toMatchObject({
      annotated: true,
      labels: true,
    });
    // Together too large: the annotated image stays behind, the label image travels.
    const picture = randomBytes(max - 100_000);
    expect(
      await publishResult(js, { job: j2, doc: doc(j2), annotated: picture, labels }, { log: log.logger }),
    ).toMatchObject({ annotated: false, labels: true });
    // A label image too large on its own: the document travels alone and names both sizes.
    const huge = randomBytes(max);
    expect(
      await publishResult(js, { job: j3, doc: doc(j3), annotated: small, labels: huge }, { log: log.logger }),
    ).toMatchObject({ annotated: false, labels: false });
    await settled('scope-labels');
    const byId = new Map(a.written.map((r) => [r.job.id, r]));
    const hash = (b?: Uint8Array) => b && createHash('sha256').update(b).digest('hex');
    expect(hash(byId.get(j1.id)?.annotated)).toBe(hash(small));
    expect(hash(byId.get(j1.id)?.labels)).toBe(hash(labels));
    expect(byId.get(j2.id)).toMatchObject({ annotatedOmittedBytes: picture.length });
    expect(hash(byId.get(j2.id)?.labels)).toBe(hash(labels));
    expect(byId.get(j2.id)?.annotated).toBeUndefined();
    expect(byId.get(j3.id)).toMatchObject({
      annotatedOmittedBytes: small.length,
      labelsOmittedBytes: huge.length,
    });
    expect(byId.get(j3.id)?.labels).toBeUndefined();
    expect(log.lines.map((l) => l.msg)).toEqual([
      'annotated image is larger than a NATS message may be; the result travels without it',
      'annotated image is larger than a NATS message may be; the result travels without it',
      'label image is larger than a NATS message may be; the result travels without it',
    ]);
  });

  it('drops a malformed message or one naming another origin with a warning, and goes on', async () => {
    const a = sink('scope-guard');
    a.start();
    const h = natsHeaders();
    h.set('Scopehive-Json-Bytes', '5');
    await js.publish(resultsSubject('scope-guard'), new TextEncoder().encode('{nope'), { headers: h });
    // Another origin's result on this origin's subject: it must never be written here.
    const stranger = job('scope-other', 1);
    const body = new TextEncoder().encode(JSON.stringify({ job: stranger, doc: doc(stranger) }));
    const h2 = natsHeaders();
    h2.set('Scopehive-Json-Bytes', String(body.length));
    await js.publish(resultsSubject('scope-guard'), body, { headers: h2 });
    const j = job('scope-guard', 1);
    await publishResult(js, { job: j, doc: doc(j) });
    await settled('scope-guard');
    expect(ids(a.calls)).toEqual([j.id]);
    expect(a.log.lines.filter((l) => l.msg === 'result message dropped').map((l) => l.reason)).toEqual([
      'result message is malformed: not JSON',
      'result is for node scope-other',
    ]);
  });
});
