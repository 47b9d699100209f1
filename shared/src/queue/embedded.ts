import { type Logger, pino } from 'pino';
import type { Job } from '../job.ts';
import { type OnExhausted, reportExhausted } from './exhausted.ts';
import type { ConsumeOptions, JobDelivery, JobQueue } from './types.ts';

export interface EmbeddedQueueOptions {
  /** Most jobs waiting, delayed or in flight; `publish` waits beyond it. */
  capacity: number;
  /** A delivery not settled within this time is delivered again. */
  ackWaitMs: number;
  /** Deliveries per job; after the last one times out the job goes to `onExhausted`. */
  maxDeliver: number;
  /**
   * Called when a job timed out on its last delivery (no handler settled it) or was nak'ed on it.
   * Without it the job is logged at error level; a throw or rejection from it is logged too.
   */
  onExhausted?: OnExhausted;
  logger?: Logger;
}

interface Entry {
  job: Job;
  attempt: number;
  /** Identifies the current delivery; settling an older one does nothing. */
  delivery: number;
  timer?: NodeJS.Timeout;
}

/**
 * The in-process engine behind JobQueue: bounded, at-least-once, with ack wait and redelivery, so
 * `npm start` and the tests behave like the JetStream engine on a device.
 */
export class EmbeddedQueue implements JobQueue {
  readonly #opts: EmbeddedQueueOptions;
  readonly #log: Logger;
  readonly #waiting: Entry[] = [];
  readonly #entries = new Map<string, Entry>();
  #wakers: Array<() => void> = [];
  #deliveries = 0;
  #closed = false;

  constructor(options: EmbeddedQueueOptions) {
    this.#opts = options;
    this.#log = options.logger ?? pino({ level: 'silent' });
  }

  async publish(job: Job): Promise<void> {
    while (!this.#closed && this.#entries.size >= this.#opts.capacity && !this.#entries.has(job.id)) {
      await this.#nextChange();
    }
    if (this.#closed) throw new Error('queue is closed');
    if (this.#entries.has(job.id)) return;
    const entry: Entry = { job, attempt: 0, delivery: 0 };
    this.#entries.set(job.id, entry);
    this.#waiting.push(entry);
    this.#wake();
  }

  async *consume(options: ConsumeOptions = {}): AsyncIterable<JobDelivery> {
    const { models, signal } = options;
    const onAbort = () => this.#wake();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!this.#closed && !signal?.aborted) {
        const index = this.#waiting.findIndex((e) => !models || models.includes(e.job.model.name));
        if (index < 0) {
          await this.#nextChange();
          continue;
        }
        const [entry] = this.#waiting.splice(index, 1);
        yield this.#deliver(entry);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async depth(): Promise<number> {
    return this.#entries.size;
  }

  /** Every job not in someone's hands: waiting, or waiting out a nak's delay. */
  async waitingByModel(): Promise<Map<string, number>> {
    const waiting = new Map<string, number>();
    for (const { job, delivery } of this.#entries.values()) {
      if (delivery === 0) waiting.set(job.model.name, (waiting.get(job.model.name) ?? 0) + 1);
    }
    return waiting;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const e of this.#entries.values()) clearTimeout(e.timer);
    this.#wake();
  }

  #deliver(entry: Entry): JobDelivery {
    entry.attempt += 1;
    const delivery = ++this.#deliveries;
    entry.delivery = delivery;
    const current = () => this.#entries.get(entry.job.id) === entry && entry.delivery === delivery;
    const armTimer = () => {
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => {
        if (!current()) return;
        entry.delivery = 0;
        if (entry.attempt >= this.#opts.maxDeliver) {
          this.#remove(entry);
          void this.#exhausted(entry);
        } else {
          this.#waiting.unshift(entry);
          this.#wake();
        }
      }, this.#opts.ackWaitMs);
      entry.timer.unref();
    };
    armTimer();
    const settle = () => {
      if (!current()) return false;
      clearTimeout(entry.timer);
      entry.delivery = 0;
      return true;
    };
    return {
      job: entry.job,
      attempt: entry.attempt,
      maxDeliver: this.#opts.maxDeliver,
      ack: async () => {
        if (settle()) this.#remove(entry);
      },
      term: async () => {
        if (settle()) this.#remove(entry);
      },
      nak: async (delayMs = 0) => {
        if (!settle()) return;
        if (entry.attempt >= this.#opts.maxDeliver) {
          this.#remove(entry);
          await this.#exhausted(entry);
          return;
        }
        const requeue = () => {
          if (this.#entries.get(entry.job.id) !== entry || this.#closed) return;
          this.#waiting.push(entry);
          this.#wake();
        };
        if (delayMs > 0) {
          entry.timer = setTimeout(requeue, delayMs);
          entry.timer.unref();
        } else {
          requeue();
        }
      },
      working: async () => {
        if (current()) armTimer();
      },
    };
  }

  #exhausted(entry: Entry): Promise<void> {
    return reportExhausted(entry.job, entry.attempt, this.#opts.onExhausted, this.#log);
  }

  #remove(entry: Entry): void {
    this.#entries.delete(entry.job.id);
    this.#wake();
  }

  #nextChange(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const w of wakers) w();
  }
}
