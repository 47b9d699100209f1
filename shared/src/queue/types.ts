import type { Job } from '../job.ts';

/** A delivered job. Exactly one of ack, nak or term settles it; until then it counts as in flight. */
export interface JobDelivery {
  job: Job;
  /** 1 on first delivery, 2 on the first redelivery, … */
  attempt: number;
  /** The last attempt the queue will make; a failure then should end in `term` with a reason. */
  maxDeliver: number;
  /** Done: the job will not be delivered again. */
  ack(): Promise<void>;
  /** Failed, try again after `delayMs` (transient error). */
  nak(delayMs?: number): Promise<void>;
  /** Failed for good: never deliver again. */
  term(reason: string): Promise<void>;
  /** Still working: restart the ack-wait clock. */
  working(): Promise<void>;
}

export interface ConsumeOptions {
  /** Only jobs for these models; all models when absent. */
  models?: string[];
  /** Stops the iteration. */
  signal?: AbortSignal;
}

/**
 * At-least-once job queue with explicit acknowledgement. Two engines implement it: the embedded one
 * (in-process, bounded) for `npm start` and tests, and NATS JetStream for the device and the hive.
 */
export interface JobQueue {
  /** Accepts a job; waits while the queue is full. A job id already waiting or in flight is ignored. */
  publish(job: Job): Promise<void>;
  /** Deliveries until the signal aborts or the queue closes. */
  consume(options?: ConsumeOptions): AsyncIterable<JobDelivery>;
  /** Jobs waiting plus jobs in flight. */
  depth(): Promise<number>;
  /**
   * Jobs waiting to be delivered (in flight not counted), by model: the model's name, or on
   * JetStream its subject token (the name itself unless it holds characters a subject cannot).
   */
  waitingByModel(): Promise<Map<string, number>>;
  close(): Promise<void>;
}
