/** Which node serves which model: records in the models bucket, read back whole or skipped with a reason. */
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/fs/files.ts';
import { MODEL_BUCKET, ModelStore } from '../../src/hive/model-store.ts';
import { type NatsServer, startNatsServer } from '../helpers/nats-server.ts';

let server: NatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let models: ModelStore;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  jsm = await jetstreamManager(nc);
  models = await ModelStore.open(nc, { replicas: 1 });
});
afterAll(async () => {
  await nc?.close();
  await server?.close();
});

const lastSeq = async () => (await jsm.streams.info(`OBJ_${MODEL_BUCKET}`)).state.last_seq;

describe('served models on a real nats-server', () => {
  it('keeps one record per node and model, writes nothing when it is unchanged, and forgets a withdrawn one', async () => {
    const a = sha256('model a');
    const sidecar = { ext: '.yaml' as const, text: 'confidence: 0.5\n' };
    await models.serve({ node: 'lab-pc.local', name: 'grains', sha256: a, sidecar });
    const seq = await lastSeq();
    await models.serve({ node: 'lab-pc.local', name: 'grains', sha256: a, sidecar });
    expect(await lastSeq()).toBe(seq);
    await models.serve({ node: 'scope-2', name: 'grains', sha256: a });
    expect(await models.served()).toEqual(
      expect.arrayContaining([
        { node: 'lab-pc.local', name: 'grains', sha256: a, sidecar },
        { node: 'scope-2', name: 'grains', sha256: a },
      ]),
    );
    await models.withdraw('lab-pc.local', 'grains');
    expect(await models.served()).toEqual([{ node: 'scope-2', name: 'grains', sha256: a }]);
    await models.withdraw('scope-2', 'grains');
    expect(await models.served()).toEqual([]);
  });

  it('skips records any device could have written wrong, saying why, and refuses to write one', async () => {
    const objects = await new Objm(nc).open(MODEL_BUCKET);
    const empty = new Uint8Array(0);
    const a = sha256('model a');
    await objects.putBlob(
      { name: 'served/x/../../etc', metadata: { node: 'x', model: '../../etc', sha256: a } },
      empty,
    );
    await objects.putBlob(
      { name: 'served/y/m', metadata: { node: 'y', model: 'm', sha256: 'not-a-hash' } },
      empty,
    );
    await objects.putBlob({ name: 'served/z/m', metadata: { node: 'other', model: 'm', sha256: a } }, empty);
    await objects.putBlob(
      {
        name: 'served/w/m',
        metadata: { node: 'w', model: 'm', sha256: a, sidecarExt: '.sh', sidecar: 'rm -rf /' },
      },
      empty,
    );
    const skipped: string[] = [];
    expect(await models.served((object, _revision, reason) => skipped.push(`${object}: ${reason}`))).toEqual(
      [],
    );
    expect(skipped.sort()).toEqual([
      'served/w/m: served model record m has a sidecar without a valid extension',
      'served/x/../../etc: served model record names no valid model: "../../etc"',
      'served/y/m: served model record m has no valid SHA-256',
      'served/z/m: served model record served/z/m names node other',
    ]);
    await expect(models.serve({ node: 'x', name: '../evil', sha256: a })).rejects.toThrow(/not a model name/);
  });
});
