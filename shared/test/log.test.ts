import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat } from '../src/log.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

/**
 * A process that logs one line with createLogger, its stdout a pipe or, under util-linux `script`,
 * a real pseudo-terminal. The logger module is imported by path, so the child sees exactly this file.
 */
function logOneLine(options: { tty: boolean; format?: 'json' | 'pretty' }): string {
  const logModule = path.join(root, 'shared/src/log.ts');
  const code = `const { createLogger } = await import(${JSON.stringify(logModule)}); createLogger('ingest', 'info', ${JSON.stringify(options.format ? { format: options.format } : {})}).info({ image: 'a.tif' }, 'job queued');`;
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', code];
  const quoted = node.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const r = options.tty
    ? spawnSync('script', ['-qefc', quoted, '/dev/null'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      })
    : spawnSync(node[0], node.slice(1), { cwd: root, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.replace(/\r/g, '').trim();
}

describe('log format', () => {
  it('is readable only on a terminal with pino-pretty installed, JSON otherwise', () => {
    expect(chooseLogFormat({ isTTY: true }, () => true)).toBe('pretty');
    expect(chooseLogFormat({ isTTY: true }, () => false)).toBe('json');
    expect(chooseLogFormat({ isTTY: false }, () => true)).toBe('json');
    expect(chooseLogFormat({}, () => true)).toBe('json');
  });

  it('does not look for pino-pretty when stdout is no terminal', () => {
    let looked = false;
    chooseLogFormat({ isTTY: false }, () => {
      looked = true;
      return true;
    });
    expect(looked).toBe(false);
  });

  it('writes JSON lines into a pipe', () => {
    const line = JSON.parse(logOneLine({ tty: false }));
    expect(line).toMatchObject({ level: 30, service: 'ingest', image: 'a.tif', msg: 'job queued' });
  });

  it('writes a readable line to a terminal', () => {
    const out = logOneLine({ tty: true });
    expect(() => JSON.parse(out)).toThrow();
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: ingest: job queued$/m);
    expect(out).toContain('image: "a.tif"');
  });

  it('writes JSON to a terminal when told to', () => {
    expect(JSON.parse(logOneLine({ tty: true, format: 'json' }))).toMatchObject({ msg: 'job queued' });
  });
});
