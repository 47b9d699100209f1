import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { ObjectInfo } from '@nats-io/obj';
import { type ObjectStore, Objm, StorageType, setSha256Backend } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { isStreamMissing } from '../queue/jetstream/errors.ts';
import type { StoredKind } from './object-errors.ts';

/**
 * One JetStream object-store bucket holding files by content: each object is named
 * `sha256/<hex>` after the SHA-256 of its bytes.
 */
export interface ObjectBucket {
  readonly name: string;
  readonly kind: StoredKind;
  readonly replicas: number;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  store: ObjectStore;
  /** How long a download may wait for its next chunk before it looks into why. */
  readonly stallMs: number;
}

export interface OpenBucketOptions {
  name: string;
  kind: StoredKind;
  /** 1, or 3 once three JetStream servers exist. */
  replicas: number;
  stallMs?: number;
}

const sha256Hex = /^[0-9a-f]{64}$/;

/** Refuses anything but a lowercase hex SHA-256: it becomes an object name and a file name. */
export function checkSha256(sha256: string): string {
  if (!sha256Hex.test(sha256)) throw new Error(`not a SHA-256 (64 lowercase hex digits): ${sha256}`);
  return sha256;
}

/**
 * The object's name: `sha256/<hash>`, or under a scope (`<scope>/sha256/<hash>`) when the same
 * bytes may be stored for several owners that each remove their own copy (the image store's origins).
 */
export function objectName(sha256: string, scope?: string): string {
  const name = `sha256/${checkSha256(sha256)}`;
  return scope === undefined ? name : `${scope}/${name}`;
}

/** Opens the bucket, making it (or raising its replicas) as needed. */
export async function openBucket(
  connection: NatsConnection | JetStreamClient,
  options: OpenBucketOptions,
): Promise<ObjectBucket> {
  if (!Number.isInteger(options.replicas) || options.replicas < 1) {
    throw new Error(`replicas must be a whole number of at least 1, not ${options.replicas}`);
  }
  // The object store hashes every chunk it sends; node's SHA-256 is several times faster than the
  // library's portable one. The setting is process-wide and the same for every bucket.
  setSha256Backend('native');
  const objm = new Objm(connection);
  const js: JetStreamClient = objm.js;
  return {
    name: options.name,
    kind: options.kind,
    replicas: options.replicas,
    js,
    jsm: await js.jetstreamManager(),
    store: await ensureBucket(objm, options.name, options.replicas),
    stallMs: options.stallMs ?? 30_000,
  };
}

/** Makes the bucket again: a server that lost its store comes back without it. */
export async function recreateBucket(bucket: ObjectBucket): Promise<void> {
  bucket.store = await ensureBucket(new Objm(bucket.js), bucket.name, bucket.replicas);
}

/**
 * Opens the bucket, making it when missing. One that exists is opened, never created again (in a
 * cluster missing a server such a request goes unanswered); its replicas are raised when the hive
 * has grown, never lowered: while a server is down the cluster looks smaller than it is, and
 * dropping replicas then would take the bucket down with the next server lost.
 */
async function ensureBucket(objm: Objm, name: string, replicas: number): Promise<ObjectStore> {
  const jsm = await objm.js.jetstreamManager();
  const stream = `OBJ_${name}`;
  const info = await jsm.streams.info(stream).catch((err: unknown) => {
    if (isStreamMissing(err)) return undefined;
    throw err;
  });
  if (!info) return objm.create(name, { storage: StorageType.File, replicas });
  if ((info.config.num_replicas ?? 1) < replicas)
    await jsm.streams.update(stream, { num_replicas: replicas });
  return objm.open(name);
}

export function streamName(bucket: ObjectBucket): string {
  return `OBJ_${bucket.name}`;
}

export function chunkSubject(bucket: ObjectBucket, nuid: string): string {
  return `$O.${bucket.name}.C.${nuid}`;
}

/** How many of the object's chunks the server holds (fewer than `info.chunks`: some were lost). */
export async function chunksStored(bucket: ObjectBucket, info: ObjectInfo): Promise<number> {
  const subject = chunkSubject(bucket, info.nuid);
  const stream = await bucket.jsm.streams.info(streamName(bucket), { subjects_filter: subject });
  return stream.state.subjects?.[subject] ?? 0;
}

/**
 * The object store's digest (`SHA-256=` and base64, URL-safe or not) as hex; anything else as
 * itself, which matches no SHA-256.
 */
export function digestHex(digest: string): string {
  const prefix = 'SHA-256=';
  if (!digest.startsWith(prefix)) return digest;
  return Buffer.from(digest.slice(prefix.length), 'base64').toString('hex');
}
