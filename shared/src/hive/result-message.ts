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
}

/** The length of the JSON part of the body; the annotated image's bytes follow it. */
const JSON_BYTES = 'Scopehive-Json-Bytes';

interface Envelope {
  job: Job;
  doc: ResultDocument;
  annotatedOmittedBytes?: number;
}

/**
 * The message of a result: its JSON (job and document) followed by the annotated image's raw bytes
 * in one body, so the image is neither base64-inflated nor copied into a string.
 */
export function encodeResult(
  result: { job: Job; doc: ResultDocument; annotated?: Uint8Array },
  withAnnotated: boolean,
): { body: Uint8Array; headers: MsgHdrs } {
  const envelope: Envelope = { job: result.job, doc: result.doc };
  const annotated = withAnnotated ? result.annotated : undefined;
  if (result.annotated && !withAnnotated) envelope.annotatedOmittedBytes = result.annotated.length;
  const json = Buffer.from(JSON.stringify(envelope));
  const h = headers();
  h.set(JSON_BYTES, String(json.length));
  return { body: annotated ? Buffer.concat([json, annotated]) : json, headers: h };
}

/** Reads a result message back; throws one line saying what is wrong with it. */
export function decodeResult(data: Uint8Array, h: MsgHdrs | undefined): HiveResult {
  const fail = (what: string): never => {
    throw new Error(`result message is malformed: ${what}`);
  };
  const jsonBytes = Number(h?.get(JSON_BYTES) ?? Number.NaN);
  if (!Number.isSafeInteger(jsonBytes) || jsonBytes <= 0 || jsonBytes > data.length)
    fail(`bad ${JSON_BYTES}`);
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
  if (data.length > jsonBytes) {
    result.annotated = Buffer.from(data.buffer, data.byteOffset + jsonBytes, data.length - jsonBytes);
  }
  const omitted = envelope.annotatedOmittedBytes;
  if (omitted !== undefined) {
    if (!Number.isSafeInteger(omitted) || (omitted as number) <= 0) fail('bad annotatedOmittedBytes');
    result.annotatedOmittedBytes = omitted;
  }
  return result;
}
