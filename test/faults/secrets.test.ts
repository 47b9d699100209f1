/**
 * Credentials in NATS_URL never reach a log line, a health answer or an error: a real nats-server
 * that requires a user and password, reached through openQueue, through the service bootstrap and
 * through the ingest main as its own process, with the right password and with a wrong one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { makeJob, openQueue, startService } from '@scopehive/shared';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNatsServer, freePort } from '../../shared/test/helpers/nats-server.ts';
import { StackProcess } from '../stack/helpers/processes.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const password = 's3cret-value';
const wrongPassword = 'wr0ng-s3cret-value';
/** Anything that would give a secret away, as written and percent-encoded. */
const secrets = [password, wrongPassword, 's3cret', encodeURIComponent('p@ss word/x')];

let nats: ChildProcess;
let port: number;
let store: string;
const url = (pass: string) => `nats://scope:${pass}@127.0.0.1:${port}`;

beforeAll(async () => {
  store = mkdtempSync(path.join(os.tmpdir(), 'scopehive-secrets-'));
  port = await freePort();
  nats = spawn(
    findNatsServer(),
    ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port), '--user', 'scope', '--pass', password],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    nats.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) resolve();
    });
    nats.once('exit', (code) => reject(new Error(`nats-server exited (${code}):\n${log}`)));
  });
});

afterAll(() => {
  nats?.kill('SIGKILL');
  rmSync(store, { recursive: true, force: true });
});

/** A logger whose every line is kept, as the device's log would keep it. */
function capturedLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

function expectNoSecret(text: string, where: string) {
  for (const secret of secrets) expect(text, `${where} shows a secret`).not.toContain(secret);
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const queueSettings = { capacity: 16, ackWaitMs: 30_000, maxDeliver: 3 };

describe('openQueue with credentials in NATS_URL', () => {
  it('connects with them and never logs them', async () => {
    const { logger, lines } = capturedLogger();
    const opened = await openQueue(
      { ...queueSettings, natsUrl: url(password) },
      { name: 'secrets', node: 'n', logger },
    );
    try {
      expect(opened.connected()).toBe(true);
      await opened.queue.publish(
        makeJob({
          origin: 'n',
          image: { path: 'a.png', bytes: 1, sha256: 'a'.repeat(64) },
          model: { name: 'm', sha256: 'b'.repeat(64) },
        }),
      );
      expect(await opened.queue.depth()).toBe(1);
    } finally {
      await opened.queue.close();
    }
    expect(lines.join('')).toContain('nats://***@127.0.0.1');
    expectNoSecret(lines.join(''), 'the log');
  });

  it('retries a wrong password with log lines that do not show it, and throws nothing that shows it', async () => {
    const { logger, lines } = capturedLogger();
    const stop = new AbortController();
    const opening = openQueue(
      { ...queueSettings, natsUrl: url(wrongPassword) },
      { name: 'secrets', node: 'n', logger, signal: stop.signal },
    );
    await until(
      () => lines.filter((l) => l.includes('Authorization Violation')).length >= 2,
      'two refused attempts',
    );
    stop.abort();
    const err = await opening.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expectNoSecret(lines.join(''), 'the log');
    expectNoSecret(inspect(err, { depth: 5 }), 'the error');
  });

  it('refuses an address that is not a URL with one line that hides the credentials', async () => {
    const { logger, lines } = capturedLogger();
    const err = await openQueue(
      {
        ...queueSettings,
        natsUrl: `nats://scope:${password}@127.0.0.1:99999, nats://scope:${encodeURIComponent('p@ss word/x')}@b:4222`,
      },
      { name: 'secrets', node: 'n', logger },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('StartupError');
    expect((err as Error).message).toMatch(
      /^NATS_URL: 'nats:\/\/\*\*\*@127\.0\.0\.1:99999' is not a server address/,
    );
    expectNoSecret(inspect(err, { depth: 5 }), 'the error');
    expectNoSecret(lines.join(''), 'the log');
  });
});

describe('the service bootstrap with credentials in NATS_URL', () => {
  const serve = async (natsUrl: string) => {
    const { logger, lines } = capturedLogger();
    const service = await startService(
      {
        name: 'secrets',
        sections: ['queue', 'http'],
        async compose(ctx) {
          // As a front door does: /readyz answers while the queue is still being opened.
          ctx.queue().catch(() => undefined);
        },
      },
      { env: { NATS_URL: natsUrl, SCOPEHIVE_PORT: '0', SCOPEHIVE_LOG_LEVEL: 'debug' }, logger },
    );
    const readyz = async () => {
      const r = await fetch(`http://127.0.0.1:${service.port}/readyz`);
      return { status: r.status, body: await r.text() };
    };
    return { service, lines, readyz };
  };

  it('says on /readyz which server it waits for, without the password, and logs none', async () => {
    const { service, lines, readyz } = await serve(url(wrongPassword));
    try {
      await until(
        () => lines.filter((l) => l.includes('Authorization Violation')).length >= 2,
        'two refused attempts',
      );
      const answer = await readyz();
      expect(answer.status).toBe(503);
      expect(answer.body).toContain('waiting for NATS at nats://***@127.0.0.1');
      expectNoSecret(answer.body, '/readyz');
    } finally {
      await service.close();
    }
    expectNoSecret(lines.join(''), 'the log');
  });

  it('becomes ready with the right password, and logs none', async () => {
    const { service, lines, readyz } = await serve(url(password));
    try {
      let answer = await readyz();
      await until(async () => {
        answer = await readyz();
        return answer.status === 200;
      }, '/readyz to say ready');
      expectNoSecret(answer.body, '/readyz');
    } finally {
      await service.close();
    }
    expectNoSecret(lines.join(''), 'the log');
  });
});

describe('the ingest container as its own process', () => {
  const runIngest = async (natsUrl: string) => {
    const data = mkdtempSync(path.join(os.tmpdir(), 'scopehive-secrets-data-'));
    const httpPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NATS_URL: natsUrl,
      SCOPEHIVE_DATA_DIR: data,
      SCOPEHIVE_PORT: String(httpPort),
      SCOPEHIVE_NODE_NAME: 'secrets',
      SCOPEHIVE_LOG_LEVEL: 'debug',
    };
    const ingest = new StackProcess({
      name: 'ingest',
      command: process.execPath,
      args: ['--import', 'tsx', 'services/ingest/src/main.ts'],
      cwd: repoRoot,
      env,
    });
    const readyz = async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
        return { status: r.status, body: await r.text() };
      } catch {
        return undefined;
      }
    };
    const done = async () => {
      await ingest.stop();
      rmSync(data, { recursive: true, force: true });
    };
    return { ingest, readyz, done };
  };

  it('with a wrong password: not ready, and neither its output nor /readyz shows the password', async () => {
    const { ingest, readyz, done } = await runIngest(url(wrongPassword));
    try {
      await until(
        () => (ingest.output.match(/Authorization Violation/g) ?? []).length >= 2,
        'two refused attempts',
        60_000,
      );
      const answer = await readyz();
      expect(answer?.status).toBe(503);
      expectNoSecret(answer?.body ?? '', '/readyz');
    } finally {
      await done();
    }
    expectNoSecret(ingest.output, `the ingest output:\n${ingest.report()}`);
  });

  it('with the right password: connected and ready, and its output shows no password', async () => {
    const { ingest, readyz, done } = await runIngest(url(password));
    try {
      await until(async () => (await readyz())?.status === 200, 'ingest to be ready', 60_000);
      expect(ingest.output).toContain('connected to NATS JetStream');
    } finally {
      await done();
    }
    expectNoSecret(ingest.output, `the ingest output:\n${ingest.report()}`);
  });

  it('with an address that is not a URL: one line naming NATS_URL, without the password, and exit 1', async () => {
    const { ingest, done } = await runIngest(`nats://scope:${password}@127.0.0.1:99999`);
    const exit = await ingest.exited;
    await done();
    expect(exit.code, ingest.report()).toBe(1);
    expect(ingest.output).toContain(
      "scopehive: NATS_URL: 'nats://***@127.0.0.1:99999' is not a server address",
    );
    expectNoSecret(ingest.output, `the ingest output:\n${ingest.report()}`);
  });
});
