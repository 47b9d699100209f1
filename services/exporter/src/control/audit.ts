/**
 * The control API's audit trail: every action asked for (allowed or not) as one JSON line in
 * `audit.log` in the token folder, the same line in the service log, and a count in
 * `scopehive_control_actions_total{action,result}` so Grafana can alert on refused or failed actions.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { type Logger, withoutSecrets } from '@scopehive/shared';
import { Counter, type Registry } from 'prom-client';

export type Action = 'restart' | 'reboot' | 'shutdown' | 'update';
/** ok: done · denied: no or wrong token, or too low a role · refused: bad request, lock held · failed: the supervisor failed. */
export type Outcome = 'ok' | 'denied' | 'refused' | 'failed';

export interface AuditEntry {
  time: string;
  user: string;
  role: 'view' | 'admin' | 'none';
  action: Action;
  /** The service restarted, or "device". */
  target: string;
  result: Outcome;
  status: number;
}

export const AUDIT_FILE = 'audit.log';
/** One older file is kept beside it: months of clicks, bounded on a device's small disk. */
const MAX_AUDIT_BYTES = 5 * 1024 * 1024;

export function outcomeOf(status: number): Outcome {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403) return 'denied';
  if (status < 500) return 'refused';
  return 'failed';
}

export class AuditLog {
  readonly file: string;
  readonly #logger: Logger;
  readonly #secrets: readonly string[];
  readonly #counter: Counter<'action' | 'result'>;
  /** Lines are appended one after the other, in the order the actions finished. */
  #writing: Promise<void> = Promise.resolve();

  constructor(options: { dir: string; logger: Logger; registry: Registry; secrets: readonly string[] }) {
    this.file = path.join(options.dir, AUDIT_FILE);
    this.#logger = options.logger;
    this.#secrets = options.secrets;
    this.#counter = new Counter({
      name: 'scopehive_control_actions_total',
      help: 'Actions asked of the control API, by action and result (ok, denied, refused, failed).',
      labelNames: ['action', 'result'],
      registers: [options.registry],
    });
  }

  record(entry: Omit<AuditEntry, 'time' | 'result'>): Promise<void> {
    const full: AuditEntry = {
      time: new Date().toISOString(),
      ...entry,
      // A user name is whatever the header said: it must not carry a token into the trail.
      user: withoutSecrets(entry.user, this.#secrets),
      result: outcomeOf(entry.status),
    };
    this.#counter.inc({ action: full.action, result: full.result });
    this.#logger.info(
      { audit: full },
      `control ${full.action} ${full.target} by ${full.user}: ${full.result}`,
    );
    this.#writing = this.#writing.then(() => this.#append(`${JSON.stringify(full)}\n`));
    return this.#writing;
  }

  async #append(line: string): Promise<void> {
    try {
      const size = await fs
        .stat(this.file)
        .then((s) => s.size)
        .catch(() => 0);
      if (size + line.length > MAX_AUDIT_BYTES) await fs.rename(this.file, `${this.file}.1`);
      await fs.appendFile(this.file, line, { mode: 0o640 });
    } catch (err) {
      // The action has happened; a full disk must not turn its answer into an error.
      this.#logger.warn(`audit line not written to ${this.file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}
