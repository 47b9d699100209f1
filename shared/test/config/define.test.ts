import { describe, expect, it } from 'vitest';
import { parseSettings, type Setting, type SettingsOf, setting } from '../../src/config/define.ts';

/** Parses one setting from one raw value, the way the loader does at start-up. */
function read<T>(s: Setting<T>, raw?: string): T {
  const env = raw === undefined ? {} : { [s.env]: raw };
  const { values, problems } = parseSettings({ value: s }, env);
  expect(problems).toEqual([]);
  return values.value;
}

/** The one problem line a bad value gives (fails the test unless there is exactly one). */
function errorOf(settings: SettingsOf, env: NodeJS.ProcessEnv): string {
  const { problems } = parseSettings(settings, env);
  expect(problems).toHaveLength(1);
  return problems[0];
}

describe('setting.int', () => {
  const port = setting.int('SCOPEHIVE_PORT', 'Port.', 9464, 0, 65535);

  it('parses whole numbers inside the range, bounds included, spaces trimmed', () => {
    expect(read(port, '8080')).toBe(8080);
    expect(read(port, '0')).toBe(0);
    expect(read(port, '65535')).toBe(65535);
    expect(read(port, ' 42 ')).toBe(42);
    expect(read(setting.int('X_NEG', '', 0, -10, 10), '-7')).toBe(-7);
  });

  it('uses the default when the variable is unset or empty', () => {
    expect(read(port)).toBe(9464);
    expect(read(port, '')).toBe(9464);
    expect(port.default).toBe('9464');
  });

  it.each(['abc', '1.5', '1e3', '0x10', '65536', '-1', '12abc', ' '])('rejects %j', (raw) => {
    expect(errorOf({ port }, { SCOPEHIVE_PORT: raw })).toBe(
      `SCOPEHIVE_PORT=${JSON.stringify(raw)} is invalid: expected a whole number from 0 to 65535`,
    );
  });
});

describe('setting.number', () => {
  const confidence = setting.number('SCOPEHIVE_CONFIDENCE', 'Score.', 0.25, 0, 1);

  it('parses decimals inside the range', () => {
    expect(read(confidence, '0.5')).toBe(0.5);
    expect(read(confidence, '1')).toBe(1);
    expect(read(confidence, '0')).toBe(0);
    expect(read(confidence, '.75')).toBe(0.75);
    expect(read(confidence)).toBe(0.25);
  });

  it.each(['1.01', '-0.1', 'NaN', 'Infinity', 'half', ' '])('rejects %j', (raw) => {
    expect(errorOf({ confidence }, { SCOPEHIVE_CONFIDENCE: raw })).toBe(
      `SCOPEHIVE_CONFIDENCE=${JSON.stringify(raw)} is invalid: expected a number from 0 to 1`,
    );
  });
});

describe('setting.bool', () => {
  const annotate = setting.bool('SCOPEHIVE_ANNOTATE', 'Annotate.', true);

  it.each([
    ['1', true],
    ['true', true],
    ['TRUE', true],
    ['yes', true],
    [' On ', true],
    ['0', false],
    ['false', false],
    ['No', false],
    ['off', false],
  ])('reads %j as %s', (raw, expected) => {
    expect(read(annotate, raw)).toBe(expected);
  });

  it('defaults to the given value', () => {
    expect(read(annotate)).toBe(true);
    expect(read(setting.bool('X_OFF', '', false))).toBe(false);
  });

  it('rejects other words', () => {
    expect(errorOf({ annotate }, { SCOPEHIVE_ANNOTATE: 'maybe' })).toBe(
      'SCOPEHIVE_ANNOTATE="maybe" is invalid: expected true or false',
    );
  });
});

describe('setting.oneOf', () => {
  const polling = setting.oneOf('SCOPEHIVE_POLLING', 'Polling.', 'auto', ['auto', 'true', 'false'] as const);

  it('accepts a listed value, case-insensitively, and defaults', () => {
    expect(read(polling, 'true')).toBe('true');
    expect(read(polling, ' FALSE ')).toBe('false');
    expect(read(polling)).toBe('auto');
  });

  it('lists the allowed values when the value is not one of them', () => {
    expect(errorOf({ polling }, { SCOPEHIVE_POLLING: 'sometimes' })).toBe(
      'SCOPEHIVE_POLLING="sometimes" is invalid: expected one of auto, true, false',
    );
  });
});

describe('setting.list', () => {
  const models = setting.list('SCOPEHIVE_MODELS', 'Models.', 'all');

  it('splits on commas, trims and drops empty items', () => {
    expect(read(models, 'yolo11n, particles ,,cells,')).toEqual(['yolo11n', 'particles', 'cells']);
    expect(read(models, 'one')).toEqual(['one']);
    expect(read(models)).toEqual(['all']);
  });
});

describe('setting.string and setting.optionalString', () => {
  it('keeps a string as given and falls back to its default', () => {
    const host = setting.string('SCOPEHIVE_HOST', 'Host.', '127.0.0.1');
    expect(read(host, '0.0.0.0')).toBe('0.0.0.0');
    expect(read(host)).toBe('127.0.0.1');
  });

  it('reads an unset or empty optional string as undefined', () => {
    const nats = setting.optionalString('NATS_URL', 'NATS.');
    expect(nats.default).toBeUndefined();
    expect(read(nats)).toBeUndefined();
    expect(read(nats, '')).toBeUndefined();
    expect(read(nats, 'nats://10.0.0.2:4222')).toBe('nats://10.0.0.2:4222');
  });
});

describe('problem lines', () => {
  it('is one line naming the variable and the value, even for a multi-line value', () => {
    const line = errorOf({ port: setting.int('SCOPEHIVE_PORT', '', 1, 0, 10) }, { SCOPEHIVE_PORT: '1\n2' });
    expect(line).toBe('SCOPEHIVE_PORT="1\\n2" is invalid: expected a whole number from 0 to 10');
    expect(line).not.toContain('\n');
  });

  it('shortens a long value to 60 characters', () => {
    const raw = 'x'.repeat(100);
    const line = errorOf({ port: setting.int('SCOPEHIVE_PORT', '', 1, 0, 10) }, { SCOPEHIVE_PORT: raw });
    expect(line).toBe(`SCOPEHIVE_PORT="${'x'.repeat(60)}…" is invalid: expected a whole number from 0 to 10`);
  });

  it.each(['SCOPEHIVE_HIVE_SECRET', 'SCOPEHIVE_ADMIN_TOKEN', 'GF_DB_PASSWORD', 'SUPERVISOR_API_KEY'])(
    'never shows the value of %s',
    (env) => {
      const line = errorOf({ s: setting.int(env, '', 1, 0, 10) }, { [env]: 'hunter2-s3cr3t' });
      expect(line).toBe(`${env}=(hidden) is invalid: expected a whole number from 0 to 10`);
    },
  );

  it('reports every bad value, not only the first', () => {
    const { problems } = parseSettings(
      {
        port: setting.int('SCOPEHIVE_PORT', '', 1, 0, 10),
        annotate: setting.bool('SCOPEHIVE_ANNOTATE', '', true),
        host: setting.string('SCOPEHIVE_HOST', '', 'localhost'),
      },
      { SCOPEHIVE_PORT: 'abc', SCOPEHIVE_ANNOTATE: 'maybe', SCOPEHIVE_HOST: 'h' },
    );
    expect(problems).toEqual([
      'SCOPEHIVE_PORT="abc" is invalid: expected a whole number from 0 to 10',
      'SCOPEHIVE_ANNOTATE="maybe" is invalid: expected true or false',
    ]);
  });
});
