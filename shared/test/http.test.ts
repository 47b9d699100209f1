import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { StartupError } from '../src/config/errors.ts';
import { startHttpServer } from '../src/http/server.ts';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function start(host: string, port: number) {
  const started = await startHttpServer({
    host,
    port,
    registry: new Registry(),
    readiness: () => ({ ready: true }),
  });
  servers.push(started.server);
  return started;
}

/** The error `startHttpServer` rejects with (fails the test when it starts). */
async function failureOf(host: string, port: number): Promise<Error> {
  const err = await start(host, port).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StartupError);
  return err as Error;
}

describe('startHttpServer', () => {
  it('serves /metrics, /healthz and /readyz on the port it reports', async () => {
    const { port } = await start('127.0.0.1', 0);
    expect(port).toBeGreaterThan(0);
    for (const route of ['/metrics', '/healthz', '/readyz']) {
      expect((await fetch(`http://127.0.0.1:${port}${route}`)).status, route).toBe(200);
    }
  });

  it('names SCOPEHIVE_PORT in one line when another program holds the port', async () => {
    const other = createServer();
    servers.push(other);
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const { port } = other.address() as AddressInfo;

    const err = await failureOf('127.0.0.1', port);
    expect(err.message).toBe(
      `SCOPEHIVE_PORT=${port} is already in use by another program (on SCOPEHIVE_HOST=127.0.0.1): choose a free port`,
    );
    expect(err.message).not.toContain('\n');
  });

  it('names SCOPEHIVE_HOST in one line when the host name does not resolve', async () => {
    const err = await failureOf('no-such-host.invalid', 0);
    expect(err.message).toMatch(
      /^SCOPEHIVE_HOST=no-such-host\.invalid does not resolve to an address \((ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_FAIL)\): use an address of this machine$/,
    );
  });

  it('names SCOPEHIVE_HOST in one line when the address is not one of this machine', async () => {
    // 192.0.2.0/24 is reserved for documentation (RFC 5737): no machine has it.
    const err = await failureOf('192.0.2.1', 0);
    expect(err.message).toBe(
      'SCOPEHIVE_HOST=192.0.2.1 is not an address of this machine: use one it has, or 0.0.0.0 for all',
    );
  });
});
