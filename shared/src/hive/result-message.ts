import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { type Job, parseJob } from '../job.ts';
import { RESULT_SCHEMA, type ResultDocument } from '../result/schema.ts';

/** One job's result on its way back to the origin node. */
export interface HiveResult {
  job: Job;
  doc: ResultDocument;
  /** The annotated JPEG, when the worker made one and it fitted in a message. */
  annotated?: Buffer;
  /**
   * The size of an annotated image the worker made but could not send (larger than the servers'
   * max_payload): the document travelled without it.
   */
  annotatedOmittedBytes?: number;
  /** The label image as a 16-bit PNG (segmentation models), when it fitted in a message. */
  labels?: Buffer;
  /** The size of a label image PNG that could not be sent. */
  labelsOmittedBytes?: number;
}

/** The attachments a result message may carry, in the order their bytes follow the JSON. */
export interface ResultAttachments {
  annotated: boolean;
  labels: boolean;
}

/**
 * A job whose image the worker found it cannot analyse (corrupt, truncated, unsupported, …): the
 * origin sets the file aside on its share with the reason, as it would for its own.
 */
export interface HiveRejection {
  job: Job;
  /** A short code (`corrupt`, `truncated`, …), checked by the origin against the ones it knows. */
  reason: string;
  /** One readable line. */
  message: string;
  /** The node that found it. */
  node: string;
}

/** The length of the JSON part of the body; the annotated image's bytes follow it. */
const JSON_BYTES = 'Scopehive-Json-Bytes';
/** The length of the label image PNG, the last part of the body when present. */
const LABELS_BYTES = 'Scopehive-Labels-Bytes';
/** Set on a rejection's message; a result's has none. */
const KIND = 'Scopehive-Kind';

/** The message of a rejection: JSON with the job, the reason and who found it. */
export function encodeRejection(rejection: HiveRejection): { body: Uint8Array; headers: MsgHdrs } {
  const h = headers();
  h.set(KIND, 'rejection');
  return { body: Buffer.from(JSON.stringify(rejection)), headers: h };
}

/** True for a rejection's message (decode it with `decodeRejection`), false for a result's. */
export function isRejectionMessage(h: MsgHdrs | undefined): boolean {
  return h?.get(KIND) === 'rejection';
}

/** Reads a rejection message back; throws one line saying what is wrong with it. */
export function decodeRejection(data: Uint8Array): HiveRejection {
  const fail = (what: string): never => {
    throw new Error(`rejection message is malformed: ${what}`);
  };
  let raw: Partial<HiveRejection>;
  try {
    raw = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return fail('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) return fail('not an object');
  let job: Job;
  try {
    job = parseJob(JSON.stringify(raw.job));
  } catch (err) {
    return fail((err as Error).message);
  }
  const text = (v: unknown, what: string, max: number): string =>
    typeof v === 'string' && v !== '' && v.length <= max ? v : fail(`bad ${what}`);
  return {
    job,
    reason: text(raw.reason, 'reason', 32),
    // One line, whatever a worker sent.
    message: text(raw.message, 'message', 2000).replace(/[\r\n]+/g, ' '),
    node: text(raw.node, 'node', 256),
  };
}

interface Envelope {
  job: Job;
  doc: ResultDocument;
  annotatedOmittedBytes?: number;
  labelsOmittedBytes?: number;
}

/**
 * The message of a result: its JSON (job and document) followed by the annotated image's raw bytes
 * and then the label image PNG's, in one body, so images are neither base64-inflated nor copied into
 * a string. An attachment left out (`send`) is named in the JSON with its size.
 */
export function encodeResult(
  result: { job: Job; doc: ResultDocument; annotated?: Uint8Array; labels?: Uint8Array },
  send: ResultAttachments,
): { body: Uint8Array; headers: MsgHdrs } {
  const envelope: Envelope = { job: result.job, doc: result.doc };
  const annotated = send.annotated ? result.annotated : undefined;
  const labels = send.labels ? result.labels : undefined;
  if (result.annotated && !annotated) envelope.annotatedOmittedBytes = result.annotated.length;
  if (result.labels && !labels) envelope.labelsOmittedBytes = result.labels.length;
  const json = Buffer.from(JSON.stringify(envelope));
  const h = headers();
  h.set(JSON_BYTES, String(json.length));
  if (labels) h.set(LABELS_BYTES, String(labels.length));
  const parts = [json, annotated, labels].filter((p): p is Uint8Array => p !== undefined);
  return { body: parts.length === 1 ? json : Buffer.concat(parts), headers: h };
}

/** Reads a result message back; throws one line saying what is wrong with it. */
export function decodeResult(data: Uint8Array, h: MsgHdrs | undefined): HiveResult {
  const fail = (what: string): never => {
    throw new Error(`result message is malformed: ${what}`);
  };
  const jsonBytes = Number(h?.get(JSON_BYTES) ?? Number.NaN);
  if (!Number.isSafeInteger(jsonBytes) || jsonBytes <= 0 || jsonBytes > data.length)
    fail(`bad ${JSON_BYTES}`);
  const labelsHeader = h?.get(LABELS_BYTES);
  const labelsBytes = labelsHeader ? Number(labelsHeader) : 0;
  if (!Number.isSafeInteger(labelsBytes) || labelsBytes < 0 || jsonBytes + labelsBytes > data.length)
    fail(`bad ${LABELS_BYTES}`);
  let envelope: Partial<Envelope>;
  try {
    envelope = JSON.parse(Buffer.from(data.buffer, data.byteOffset, jsonBytes).toString('utf8'));
  } catch {
    return fail('not JSON');
  }
  if (typeof envelope !== 'object' || envelope === null) fail('not an object');
  let job: Job;
  try {
    job = parseJob(JSON.stringify(envelope.job));
  } catch (err) {
    return fail((err as Error).message);
  }
  const doc = envelope.doc as Partial<ResultDocument> | undefined;
  if (typeof doc !== 'object' || doc === null || doc.schema !== RESULT_SCHEMA)
    fail(`document is not ${RESULT_SCHEMA}`);
  if (doc?.jobId !== job.id) fail(`document is for job ${String(doc?.jobId)}, not ${job.id}`);
  const result: HiveResult = { job, doc: doc as ResultDocument };
  const annotatedEnd = data.length - labelsBytes;
  if (annotatedEnd > jsonBytes) {
    result.annotated = Buffer.from(data.buffer, data.byteOffset + jsonBytes, annotatedEnd - jsonBytes);
  }
  if (labelsBytes > 0) result.labels = Buffer.from(data.buffer, data.byteOffset + annotatedEnd, labelsBytes);
  for (const key of ['annotatedOmittedBytes', 'labelsOmittedBytes'] as const) {
    const omitted = envelope[key];
    if (omitted === undefined) continue;
    if (!Number.isSafeInteger(omitted) || (omitted as number) <= 0) fail(`bad ${key}`);
    result[key] = omitted;
  }
  return result;
}
