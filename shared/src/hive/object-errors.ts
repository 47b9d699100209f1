import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

/** What a bucket holds, for messages: the hive keeps image bytes and model files. */
export type StoredKind = 'image' | 'model';

/** The object is not in the bucket: never stored, removed, or lost with the server's store. */
export class ObjectMissingError extends Error {
  override name = 'ObjectMissingError';
  constructor(
    readonly kind: StoredKind,
    readonly sha256: string,
    bucket: string,
  ) {
    super(`${kind} ${sha256} is not in the hive's ${bucket} bucket`);
  }
}

/** The bytes the bucket gave back are not the ones stored under that SHA-256. */
export class ObjectCorruptError extends Error {
  override name = 'ObjectCorruptError';
  constructor(
    readonly kind: StoredKind,
    readonly sha256: string,
    bucket: string,
    problem: string,
  ) {
    super(`${kind} ${sha256} in the hive's ${bucket} bucket is corrupt: ${problem}`);
  }
}

/** The file on disk no longer has the content it was hashed with: it changed after it was seen. */
export class FileChangedError extends Error {
  override name = 'FileChangedError';
  constructor(
    readonly file: string,
    readonly expectedSha256: string,
  ) {
    super(`${file} changed after it was hashed: its content is no longer SHA-256 ${expectedSha256}`);
  }
}

export function isObjectMissing(err: unknown): err is ObjectMissingError {
  return err instanceof ObjectMissingError;
}

/** A conditional put lost a race: another process stored the same name first. */
export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;
}
