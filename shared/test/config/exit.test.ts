import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { StartupError } from '../../src/config/errors.ts';
import { exitOnStartupError } from '../../src/config/exit.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startService } from '../../src/service.ts';

class Exited extends Error {}

let stderr: string[];
let exit: MockInstance<typeof process.exit>;

beforeEach(() => {
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr.push(String(chunk));
    return true;
  });
  // process.exit never returns; throwing stands in for that without ending the test run.
  exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Exited(`exit ${code}`);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a bad setting at start-up', () => {
  it('prints one `scopehive:` line per bad value on stderr and exits with code 1', () => {
    const err = (() => {
      try {
        loadConfig(['http', 'analysis'], { SCOPEHIVE_PORT: 'abc', SCOPEHIVE_IOU: '7', SCOPEHIVE_HOST: '' });
      } catch (e) {
        return e;
      }
    })();
    expect(() => exitOnStartupError(err)).toThrow(Exited);
    expect(exit).toHaveBeenCalledWith(1);
    expect(stderr).toEqual([
      'scopehive: SCOPEHIVE_PORT="abc" is invalid: expected a whole number from 0 to 65535\n',
      'scopehive: SCOPEHIVE_IOU="7" is invalid: expected a number from 0 to 1\n',
    ]);
  });
});

describe('exitOnStartupError', () => {
  it('prints a StartupError as one line and exits with code 1', () => {
    expect(() => exitOnStartupError(new StartupError('SCOPEHIVE_PORT=9464 is already in use'))).toThrow(
      Exited,
    );
    expect(exit).toHaveBeenCalledWith(1);
    expect(stderr).toEqual(['scopehive: SCOPEHIVE_PORT=9464 is already in use\n']);
  });

  it('throws anything else on, so a bug keeps its stack', () => {
    const bug = new TypeError('x is undefined');
    expect(() => exitOnStartupError(bug)).toThrow(bug);
    expect(exit).not.toHaveBeenCalled();
    expect(stderr).toEqual([]);
  });

  it('prints a data folder that cannot be created as one line (npm start and the CLI do not wait)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'scopehive-folders-'));
    try {
      writeFileSync(path.join(dir, 'file'), '');
      const inbox = path.join(dir, 'file', 'inbox');
      const err = await startService(
        {
          name: 'test',
          sections: ['paths'],
          http: false,
          logLevel: 'silent',
          folders: () => ({ inbox: { path: inbox, writable: true } }),
          compose: async () => undefined,
        },
        { env: {} },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StartupError);
      expect(() => exitOnStartupError(err)).toThrow(Exited);
      expect(stderr).toEqual([`scopehive: the inbox folder ${inbox} fails (ENOTDIR)\n`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
