import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs on stdout, one object per line; `service` names the emitting part. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({ name: 'scopehive', level, base: { service } });
}
