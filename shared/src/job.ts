import { createHash } from 'node:crypto';

/**
 * One unit of work: one image analysed by one model. A job can travel: it names the node whose share
 * holds the image (its origin, where the results go back to), so a worker on another device can take it.
 */
export interface Job {
  /** Stable identity: the same origin, path, content and model always give the same id (idempotent results). */
  id: string;
  /** The node whose inbox holds the image and whose share receives the results. */
  origin: string;
  image: {
    /** Path relative to the origin's inbox, with `/` separators. */
    path: string;
    bytes: number;
    sha256: string;
  };
  model: {
    /** The model file name without `.onnx`. */
    name: string;
    sha256: string;
  };
  /** When ingest saw the complete file (ms since epoch); gives the file-to-result latency. */
  seenAt: number;
}

export interface JobSpec {
  origin: string;
  image: { path: string; bytes: number; sha256: string };
  model: { name: string; sha256: string };
  seenAt?: number;
}

/** The one way to build a job: validates the path and derives the id. */
export function makeJob(spec: JobSpec): Job {
  const job: Job = {
    id: '',
    origin: spec.origin,
    image: { path: toInboxRelative(spec.image.path), bytes: spec.image.bytes, sha256: spec.image.sha256 },
    model: { name: spec.model.name, sha256: spec.model.sha256 },
    seenAt: spec.seenAt ?? Date.now(),
  };
  job.id = jobId(job);
  return job;
}

/**
 * The job's identity. The image path belongs in it because results are kept per path: without it,
 * two files with the same bytes (a copy in another session folder) would share one id, and the queue
 * would drop the second as a duplicate. The origin belongs in it because two microscopes can save
 * files with the same name and bytes, and each must get its own result.
 */
export function jobId(job: Pick<Job, 'origin' | 'image' | 'model'>): string {
  const where = hash(`${job.origin}\n${job.image.path}`).slice(0, 16);
  return `${job.image.sha256.slice(0, 32)}.${job.model.name}.${job.model.sha256.slice(0, 16)}.${where}`;
}

/** Validates a job that came over the wire; throws one line saying what is wrong. */
export function parseJob(text: string): Job {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('job is not JSON');
  }
  const o = raw as Partial<Job> | null;
  const fail = (what: string): never => {
    throw new Error(`job is malformed: ${what}`);
  };
  if (typeof o !== 'object' || o === null) return fail('not an object');
  if (typeof o.id !== 'string' || o.id === '') fail('no id');
  if (typeof o.origin !== 'string' || o.origin === '') fail('no origin node');
  const image = o.image as Partial<Job['image']> | undefined;
  if (typeof image?.path !== 'string') fail('no image path');
  if (typeof image?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(image.sha256)) fail('bad image sha256');
  if (!Number.isSafeInteger(image?.bytes) || (image?.bytes as number) < 0) fail('bad image size');
  const model = o.model as Partial<Job['model']> | undefined;
  if (typeof model?.name !== 'string' || model.name === '') fail('no model name');
  if (typeof model?.sha256 !== 'string' || model.sha256 === '') fail('no model sha256');
  if (typeof o.seenAt !== 'number' || !Number.isFinite(o.seenAt)) fail('bad seenAt');
  const job = makeJob({
    origin: o.origin as string,
    image: image as Job['image'],
    model: model as Job['model'],
    seenAt: o.seenAt,
  });
  if (job.id !== o.id) fail(`id ${o.id} does not match its content`);
  return job;
}

/**
 * Checks an inbox-relative path with `/` separators: no `..`, no empty or `.` part, not absolute.
 * A backslash is an ordinary character of a Linux file name (a Windows PC saving `a\b.tif` onto the
 * share makes exactly that name), so it is kept, not read as a separator.
 */
export function toInboxRelative(rel: string): string {
  if (rel.startsWith('/') || rel.split('/').some((p) => p === '..' || p === '' || p === '.')) {
    throw new Error(`not a path inside the inbox: ${JSON.stringify(rel)}`);
  }
  return rel;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
