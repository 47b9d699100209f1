import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { parseNatsServers, scrubbed } from './credentials.ts';
import { errorMessage } from './errors.ts';
import { retry } from './retry.ts';

export interface NatsConnectOptions {
  /** NATS server URL(s), comma-separated (`NATS_URL`). */
  servers: string;
  /** Connection name shown in NATS monitoring. */
  name: string;
  log: Logger;
  /** Stops the start-up connection attempts. */
  signal?: AbortSignal;
}

/**
 * Connects, retrying with backoff for as long as it takes (NATS may start after the service), and
 * keeps reconnecting for ever afterwards: a NATS restart pauses the queue, it never ends it.
 */
export async function connectJetStream(
  options: NatsConnectOptions,
): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const { log, signal } = options;
  const { servers, user, pass, token, secrets } = parseNatsServers(options.servers);
  // Whatever the client reports is scrubbed before a log line or a caller sees it.
  const clean =
    <T>(fn: () => Promise<T>) =>
    () =>
      fn().catch((err) => Promise.reject(scrubbed(err, secrets)));
  const nc = await retry(
    clean(() =>
      connect({
        servers,
        user,
        pass,
        token,
        name: options.name,
        timeout: 5000,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        pingInterval: 20_000,
      }),
    ),
    { log, what: 'NATS is not reachable', signal },
  );
  try {
    const jsm = await retry(
      clean(() => jetstreamManager(nc)),
      { log, what: 'JetStream is not available', signal },
    );
    return { nc, jsm };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

/**
 * Follows the connection for readiness, logging each change; `onReconnect` runs after every
 * reconnection (a server that lost its store comes back without the stream). Returns whether the
 * connection is up right now.
 */
export function watchConnection(nc: NatsConnection, log: Logger, onReconnect: () => void): () => boolean {
  let up = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        up = false;
        log.warn({ server: s.server }, 'disconnected from NATS; reconnecting');
      } else if (s.type === 'reconnect') {
        up = true;
        log.info({ server: s.server }, 'reconnected to NATS');
        onReconnect();
      }
    }
  })();
  void nc.closed().then((err) => {
    up = false;
    if (err) log.error({ err: errorMessage(err) }, 'NATS connection closed');
  });
  return () => up && !nc.isClosed();
}

/** Whether the connected server is at least `major.minor` (features such as a reason after +TERM depend on it). */
export function serverAtLeast(nc: NatsConnection, major: number, minor: number): boolean {
  const [a = 0, b = 0] = (nc.info?.version ?? '0.0.0').split('.').map((n) => Number.parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}
