/**
 * The control API as the exporter serves it (the real service bootstrap, the real supervisor client)
 * in front of the fake supervisor, with the logger's every line kept so tests can grep it.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type RunningService, startService } from '@scopehive/shared';
import { pino } from 'pino';
import { mountControlApi } from '../../src/control/mount.ts';
import { supervisorFromEnv } from '../../src/supervisor/client.ts';

export interface Exporter {
  base: string;
  /** Everything the service logged, one JSON line each. */
  logs: string[];
  tokenDir: string;
  env: NodeJS.ProcessEnv;
  running: RunningService<'paths' | 'http'>;
  close(): Promise<void>;
}

export async function startExporter(options: {
  root: string;
  env: NodeJS.ProcessEnv;
  inferenceUrl: string;
  tokenDir?: string;
}): Promise<Exporter> {
  const tokenDir = options.tokenDir ?? path.join(options.root, 'control');
  const env: NodeJS.ProcessEnv = {
    SCOPEHIVE_DATA_DIR: path.join(options.root, 'data'),
    SCOPEHIVE_HOST: '127.0.0.1',
    SCOPEHIVE_PORT: '0',
    ...options.env,
  };
  const logs: string[] = [];
  const logger = pino(
    { level: 'trace', base: { service: 'exporter' } },
    { write: (line: string) => logs.push(line) },
  );
  const running = await startService(
    {
      name: 'exporter',
      sections: ['paths', 'http'],
      compose: (ctx) =>
        mountControlApi(ctx, {
          control: {
            viewToken: undefined,
            adminToken: undefined,
            tokenDir,
            inferenceUrl: options.inferenceUrl,
          },
          supervisor: supervisorFromEnv(env, { timeoutMs: 5000 }),
          env,
        }),
    },
    { env, logger },
  );
  return {
    base: `http://127.0.0.1:${running.port}`,
    logs,
    tokenDir,
    env,
    running,
    close: () => running.close(),
  };
}

export async function tempRoot(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-control-'));
}

/**
 * A TCP relay in front of `target` that remembers each connection's first bytes and whether it is
 * still open: how a test sees the exporter close its journal stream to the supervisor.
 */
export async function connectionRelay(target: string): Promise<{
  url: string;
  connections: Array<{ head: string; open: boolean }>;
  close(): Promise<void>;
}> {
  const { hostname, port } = new URL(target);
  const connections: Array<{ head: string; open: boolean }> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const record = { head: '', open: true };
    connections.push(record);
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (record.head.length < 4096) record.head += chunk.toString('latin1');
    });
    const end = () => {
      record.open = false;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `check` until it holds (generous deadline); the last failure is thrown when it never does. */
export async function eventually(
  check: () => unknown | Promise<unknown>,
  deadlineMs = 20_000,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      if ((await check()) !== false) return;
      if (Date.now() > until) throw new Error('condition never held');
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
