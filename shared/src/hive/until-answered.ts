/**
 * The hive's start-up steps make or open streams on JetStream. A cluster that is busy (three nodes
 * starting at once, each placing the same three-replica streams) or electing a leader can leave a
 * request unanswered for a while: the step is then tried again, with a warning line per attempt,
 * instead of ending the service. Any other error (a refusal, a stream of the wrong kind) is thrown.
 */
import type { Logger } from 'pino';
import { isUnanswered } from '../queue/jetstream/errors.ts';
import { retry } from '../queue/jetstream/retry.ts';

export function untilAnswered<T>(
  what: string,
  step: () => Promise<T>,
  options: { logger: Logger; signal?: AbortSignal },
): Promise<T> {
  return retry(step, {
    log: options.logger,
    what: `${what}: JetStream does not answer yet, trying again`,
    signal: options.signal,
    permanent: (err) => !isUnanswered(err),
  });
}
