import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
} from '@nats-io/jetstream';
import {
  connect,
  InvalidArgumentError,
  type NatsConnection,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isConsumerAlreadyExists,
  isPermanent,
  isStreamMissing,
  isStreamNameInUse,
  QueueSetupError,
} from '../../src/queue/jetstream/errors.ts';
import { JetStreamQueue } from '../../src/queue/jetstream/queue.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';
import { testJob } from './test-job.ts';

/** An API error as the server sends it (`code` is the HTTP-like status, `err_code` the JetStream code). */
const apiError = (status: number, errCode: number, description: string) =>
  new JetStreamApiError({ code: status, err_code: errCode, description });

/** Where an awaited call throws, or fails the test when it does not. */
async function thrown(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

describe('JetStream error classification', () => {
  it('knows a missing stream by the library code, and a publish nobody answers as one too', () => {
    expect(isStreamMissing(apiError(404, JetStreamApiCodes.StreamNotFound, 'stream not found'))).toBe(true);
    expect(isStreamMissing(apiError(404, JetStreamApiCodes.ConsumerNotFound, 'consumer not found'))).toBe(
      false,
    );
    const noResponders = new RequestError('no responders', {
      cause: new NoRespondersError('scopehive.jobs.x'),
    });
    expect(isStreamMissing(new Error('jetstream is not enabled', { cause: noResponders }))).toBe(true);
    expect(isStreamMissing(new TimeoutError())).toBe(false);
    expect(isStreamMissing(new Error('no responders'))).toBe(false);
  });

  it('tells a stream or consumer that exists with another configuration by its server code', () => {
    const nameInUse = apiError(400, 10058, 'stream name already in use with a different configuration');
    const consumerExists = apiError(400, 10148, 'consumer already exists');
    expect([isStreamNameInUse(nameInUse), isConsumerAlreadyExists(nameInUse)]).toEqual([true, false]);
    expect([isStreamNameInUse(consumerExists), isConsumerAlreadyExists(consumerExists)]).toEqual([
      false,
      true,
    ]);
    expect(isStreamNameInUse(new Error('stream name already in use'))).toBe(false);
  });

  it('gives up on what retrying cannot cure and retries the rest', () => {
    expect(isPermanent(new QueueSetupError('wrong kind of stream'))).toBe(true);
    expect(isPermanent(InvalidArgumentError.format('payload', 'max_payload size exceeded'))).toBe(true);
    expect(isPermanent(apiError(400, 10065, 'subjects overlap with an existing stream'))).toBe(true);
    expect(isPermanent(apiError(404, JetStreamApiCodes.StreamNotFound, 'stream not found'))).toBe(false);
    expect(isPermanent(apiError(503, 10008, 'JetStream system temporarily unavailable'))).toBe(false);
    expect(isPermanent(new TimeoutError())).toBe(false);
    expect(isPermanent(new Error('connection refused'))).toBe(false);
  });
});

describe('JetStream errors from a real nats-server', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.close();
  });

  it('classifies what the client library actually throws', async () => {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: 'ERRORS', subjects: ['errors.>'], retention: RetentionPolicy.Workqueue });

    expect(isStreamMissing(await thrown(jsm.streams.info('NO_SUCH_STREAM')))).toBe(true);
    expect(isStreamMissing(await thrown(jsm.consumers.add('NO_SUCH_STREAM', { durable_name: 'c' })))).toBe(
      true,
    );
    expect(isStreamMissing(await thrown(js.publish('no-stream.here', 'x')))).toBe(true);

    const consumerMissing = await thrown(jsm.consumers.info('ERRORS', 'no-such-consumer'));
    expect([isStreamMissing(consumerMissing), isPermanent(consumerMissing)]).toEqual([false, false]);

    const changed = await thrown(
      jsm.streams.add({
        name: 'ERRORS',
        subjects: ['errors.>', 'more.>'],
        retention: RetentionPolicy.Workqueue,
      }),
    );
    expect(isStreamNameInUse(changed)).toBe(true);
    const overlapping = await thrown(jsm.streams.add({ name: 'OVERLAP', subjects: ['errors.x'] }));
    expect([isStreamNameInUse(overlapping), isPermanent(overlapping)]).toEqual([false, true]);
    const tooBig = await thrown(js.publish('errors.big', new Uint8Array((nc.info?.max_payload ?? 0) + 1)));
    expect(isPermanent(tooBig)).toBe(true);
  });

  it('refuses at once a stream of the wrong kind under the queue stream name', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'LIMITS', subjects: ['limits.>'], retention: RetentionPolicy.Limits });
    const err = await thrown(
      JetStreamQueue.connect({
        servers: server.url,
        stream: 'LIMITS',
        subjectPrefix: 'limits',
        ackWaitMs: 5000,
        maxDeliver: 3,
      }),
    );
    expect(err).toBeInstanceOf(QueueSetupError);
    expect((err as Error).message).toMatch(/needs a work-queue stream/);
  });

  it('sets the stream up again when a publish finds it gone', async () => {
    const q = await JetStreamQueue.connect({
      servers: server.url,
      stream: 'GONE',
      subjectPrefix: 'gone.jobs',
      ackWaitMs: 5000,
      maxDeliver: 3,
    });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete('GONE');
      await q.publish(testJob(1));
      expect(await q.depth()).toBe(1);
    } finally {
      await q.close();
    }
  });
});
