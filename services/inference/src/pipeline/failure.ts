import { classifyDecodeError, type ImageRejection } from '../image/rejection.ts';

/**
 * Every failure sorted once, in the words of what to do about it:
 * - `image`: the file itself is bad (empty, truncated, corrupt, unsupported): reject it with the reason;
 * - `environment`: the device, not the file (disk full, read-only, I/O error, a link planted in our
 *   folders, queue down): hold the job and try again for as long as it lasts; never reject the image;
 * - `bug`: anything else: log it with its stack, try again, and reject once the attempts are spent.
 */
export type Failure =
  | { kind: 'image'; rejection: ImageRejection }
  | { kind: 'environment'; code: string; message: string; path?: string }
  | { kind: 'bug'; message: string; stack?: string };

/**
 * Error codes that say the device is in trouble, not the image. ENOENT, EACCES and EPERM are here
 * because the source already turns a missing or unreadable image into a rejection: any that reach
 * the classifier are about our own folders (results, rejected); Node's recursive mkdir even reports
 * a read-only file system as ENOENT. EOUTSIDE is a symbolic link planted in those folders (see
 * `insideFolder`): an operator removes it, the image is not at fault.
 */
const ENVIRONMENT_CODES = new Set([
  'ENOENT',
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EIO',
  'EACCES',
  'EPERM',
  'EOUTSIDE',
  'EMFILE',
  'ENFILE',
  'ENOMEM',
  'EAGAIN',
  'EBUSY',
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ESTALE',
]);

/**
 * The NATS client's errors for a queue that is down or a cluster electing leaders (a JetStream server
 * lost): it names them rather than giving codes; matched by name so that the inference service does
 * not depend on the client library. A hive image fetch or result publish meeting one is waited out,
 * never counted against the image.
 */
const QUEUE_DOWN_ERRORS = new Set([
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'TimeoutError',
  'NoResponders',
  'JetStreamNotEnabled',
]);

/** JetStream's answer while a stream or the cluster has no leader (API error 10008). */
const QUEUE_BUSY = /JetStream system temporarily unavailable/i;

export function classifyFailure(err: unknown): Failure {
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  const { code, path } = (err ?? {}) as NodeJS.ErrnoException;
  // Before the image's own errors: those would take a raw EACCES for an unreadable image.
  if (typeof code === 'string' && ENVIRONMENT_CODES.has(code))
    return { kind: 'environment', code, message, path };
  const rejection = classifyDecodeError(err);
  if (rejection) return { kind: 'image', rejection };
  const name = (err as Error)?.name;
  if ((name && QUEUE_DOWN_ERRORS.has(name)) || QUEUE_BUSY.test(message))
    return { kind: 'environment', code: 'QUEUE_DOWN', message };
  return { kind: 'bug', message, stack: (err as Error)?.stack };
}
