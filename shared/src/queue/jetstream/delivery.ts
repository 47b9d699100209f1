import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { type Job, parseJob } from '../../job.ts';
import { jobLogFields, type OnExhausted, reportExhausted } from '../exhausted.ts';
import type { JobDelivery } from '../types.ts';
import { errorMessage } from './errors.ts';
import type { Pulled } from './pull.ts';

export interface DeliverySettings {
  maxDeliver: number;
  /** The server understands a reason after +TERM (nats-server 2.10+); older servers ignore the whole ack. */
  termWithReason: boolean;
  onExhausted?: OnExhausted;
  log: Logger;
}

/**
 * Turns a pulled message into a delivery for the handler, or settles it here and returns undefined:
 * a message that is not a valid job is terminated, and the extra delivery the consumer makes after
 * the last one (see `ensureConsumer`) is reported as exhausted and terminated.
 */
export async function toDelivery(
  { msg, waited }: Pulled,
  settings: DeliverySettings,
): Promise<JobDelivery | undefined> {
  const { log, maxDeliver } = settings;
  let job: Job;
  try {
    job = parseJob(msg.string());
  } catch (err) {
    log.error({ err: errorMessage(err), subject: msg.subject, seq: msg.seq }, 'not a job; terminated');
    msg.term();
    return undefined;
  }
  const attempt = msg.info.deliveryCount;
  if (attempt > maxDeliver) {
    await exhausted(msg, job, settings);
    return undefined;
  }
  // It waited in the mailbox: give the handler the whole ack wait.
  if (waited) msg.working();
  return {
    job,
    attempt,
    maxDeliver,
    ack: async () => {
      // Wait for the server to confirm, so an ack lost in a NATS restart is at least logged; the
      // job then comes back and the idempotent result writer makes the second run a no-op.
      const confirmed = await msg.ackAck({ timeout: 5000 }).catch(() => false);
      if (!confirmed) log.warn(jobLogFields(job), 'ack not confirmed; the job may be delivered again');
    },
    nak: async (delayMs = 0) => {
      if (attempt >= maxDeliver) await exhausted(msg, job, settings);
      else msg.nak(delayMs > 0 ? delayMs : undefined);
    },
    term: async (reason) => term(msg, reason, settings),
    working: async () => msg.working(),
  };
}

/** Reports a job no delivery settled and ends it: the server would not deliver it again anyway. */
async function exhausted(msg: JsMsg, job: Job, settings: DeliverySettings) {
  await reportExhausted(job, msg.info.deliveryCount, settings.onExhausted, settings.log);
  term(msg, `not settled after ${settings.maxDeliver} deliveries`, settings);
}

function term(msg: JsMsg, reason: string, settings: DeliverySettings): void {
  if (settings.termWithReason) msg.term(reason);
  else msg.term();
}
