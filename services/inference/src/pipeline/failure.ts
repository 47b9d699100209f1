import { classifyDecodeError, type ImageRejection } from '../image/rejection.ts';

/**
 * Every failure sorted once, in the words of what to do about it:
 * - `image`: the file itself is bad (empty, truncated, corrupt, unsupported): reject it with the reason;
 * - `environment`: the device, not the file (disk full, read-only, I/O error, queue down): try again later;
 * - `bug`: anything else: log it with its stack, try again, and reject once the attempts are spent.
 */
export type Failure =
  | { kind: 'image'; rejection: ImageRejection }
  | { kind: 'environment'; message: string }
  | { kind: 'bug'; message: string; stack?: string };

/** Error codes that say the device is in trouble, not the image. */
const ENVIRONMENT_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EIO',
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

export function classifyFailure(err: unknown): Failure {
  const rejection = classifyDecodeError(err);
  if (rejection) return { kind: 'image', rejection };
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code && ENVIRONMENT_CODES.has(code)) return { kind: 'environment', message };
  return { kind: 'bug', message, stack: (err as Error)?.stack };
}
