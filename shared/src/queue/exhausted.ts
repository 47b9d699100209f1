import type { Logger } from 'pino';
import type { Job } from '../job.ts';

/** Told about a job that no delivery settled (its process died or hung, or it failed every time). */
export type OnExhausted = (job: Job) => void | Promise<void>;

/** The fields that name a job in a log line: flat and short, so a log search finds the image or model. */
export function jobLogFields(job: Job): { job: string; origin: string; image: string; model: string } {
  return { job: job.id, origin: job.origin, image: job.image.path, model: job.model.name };
}

/**
 * Reports a job no delivery settled to `onExhausted`, or logs it when there is none. Never throws:
 * it runs in the engines' timers and pull loops, where a throw would end the process or the loop.
 */
export async function reportExhausted(
  job: Job,
  deliveries: number,
  onExhausted: OnExhausted | undefined,
  log: Logger,
): Promise<void> {
  const fields = { ...jobLogFields(job), deliveries };
  try {
    if (onExhausted) await onExhausted(job);
    else log.error(fields, 'job not settled by any of its deliveries; dropped');
  } catch (err) {
    log.error({ ...fields, err }, 'job not settled by any of its deliveries; reporting it failed');
  }
}
