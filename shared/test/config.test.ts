import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig, type Setting, setting } from '../src/config.ts';
import { loadSettings, settingsSchema } from '../src/settings.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Parses one setting from one raw value, the way readConfig does at start-up. */
function read<T>(s: Setting<T>, raw?: string): T {
  const env = raw === undefined ? {} : { [s.env]: raw };
  return readConfig({ value: s }, env).value;
}

/** The ConfigError a bad value raises (fails the test when none is thrown). */
function errorOf(schema: Parameters<typeof readConfig>[0], env: NodeJS.ProcessEnv): ConfigError {
  try {
    readConfig(schema, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
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
    const err = errorOf({ port }, { SCOPEHIVE_PORT: raw });
    expect(err.message).toBe(
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
    expect(errorOf({ confidence }, { SCOPEHIVE_CONFIDENCE: raw }).message).toBe(
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
    expect(errorOf({ annotate }, { SCOPEHIVE_ANNOTATE: 'maybe' }).message).toBe(
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
    expect(errorOf({ polling }, { SCOPEHIVE_POLLING: 'sometimes' }).message).toBe(
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

describe('readConfig errors', () => {
  it('is one line naming the variable and the value, even for a multi-line value', () => {
    const err = errorOf({ port: setting.int('SCOPEHIVE_PORT', '', 1, 0, 10) }, { SCOPEHIVE_PORT: '1\n2' });
    expect(err.name).toBe('ConfigError');
    expect(err.message).toBe('SCOPEHIVE_PORT="1\\n2" is invalid: expected a whole number from 0 to 10');
    expect(err.message).not.toContain('\n');
  });

  it('shortens a long value to 60 characters', () => {
    const raw = 'x'.repeat(100);
    const err = errorOf({ port: setting.int('SCOPEHIVE_PORT', '', 1, 0, 10) }, { SCOPEHIVE_PORT: raw });
    expect(err.message).toBe(
      `SCOPEHIVE_PORT="${'x'.repeat(60)}…" is invalid: expected a whole number from 0 to 10`,
    );
  });

  it('stops at the first bad value of the whole schema', () => {
    expect(() => loadSettings({ SCOPEHIVE_PORT: 'abc' })).toThrow(
      new ConfigError('SCOPEHIVE_PORT="abc" is invalid: expected a whole number from 0 to 65535'),
    );
    expect(() => loadSettings({ SCOPEHIVE_ACK_WAIT_MS: '10' })).toThrow(
      'SCOPEHIVE_ACK_WAIT_MS="10" is invalid: expected a whole number from 1000 to 3600000',
    );
    expect(() => loadSettings({ SCOPEHIVE_LOG_LEVEL: 'loud' })).toThrow(
      'SCOPEHIVE_LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent',
    );
  });
});

describe('loadSettings', () => {
  it('has the documented defaults with no environment', () => {
    const s = loadSettings({});
    expect(s).toMatchObject({
      models: ['all'],
      confidence: 0.25,
      iou: 0.45,
      maxDetections: 300,
      maxPixels: 100_000_000,
      annotate: true,
      stableMs: 1500,
      polling: 'auto',
      pollIntervalMs: 1000,
      queueCapacity: 256,
      maxDeliver: 3,
      ackWaitMs: 120_000,
      threads: 0,
      providers: ['auto'],
      host: '127.0.0.1',
      port: 9464,
      rateWindowS: 30,
      logLevel: 'info',
    });
    expect(s.natsUrl).toBeUndefined();
  });

  it('puts inbox, models, results and rejected under an absolute data folder by default', () => {
    const s = loadSettings({});
    const data = path.resolve('./data');
    expect(s.dataDir).toBe(data);
    expect(s.inboxDir).toBe(path.join(data, 'inbox'));
    expect(s.modelsDir).toBe(path.join(data, 'models'));
    expect(s.resultsDir).toBe(path.join(data, 'results'));
    expect(s.rejectedDir).toBe(path.join(data, 'rejected'));

    const moved = loadSettings({ SCOPEHIVE_DATA_DIR: '/srv/scope' });
    expect(moved.inboxDir).toBe('/srv/scope/inbox');
    expect(moved.rejectedDir).toBe('/srv/scope/rejected');
  });

  it('takes explicit folders over the data folder, made absolute', () => {
    const s = loadSettings({
      SCOPEHIVE_DATA_DIR: '/data',
      SCOPEHIVE_INBOX_DIR: '/share/microscope',
      SCOPEHIVE_MODELS_DIR: 'models-here',
      SCOPEHIVE_RESULTS_DIR: '/share/results',
      SCOPEHIVE_REJECTED_DIR: '',
    });
    expect(s.inboxDir).toBe('/share/microscope');
    expect(s.modelsDir).toBe(path.resolve('models-here'));
    expect(s.resultsDir).toBe('/share/results');
    expect(s.rejectedDir).toBe('/data/rejected');
  });

  it('names the node by SCOPEHIVE_NODE_NAME, else BALENA_DEVICE_UUID, else the host name', () => {
    expect(loadSettings({}).nodeName).toBe(os.hostname());
    expect(loadSettings({ BALENA_DEVICE_UUID: 'a1b2c3d4e5f6' }).nodeName).toBe('a1b2c3d4e5f6');
    expect(loadSettings({ BALENA_DEVICE_UUID: 'a1b2c3d4e5f6', SCOPEHIVE_NODE_NAME: 'sem-1' }).nodeName).toBe(
      'sem-1',
    );
    expect(loadSettings({ BALENA_DEVICE_UUID: '' }).nodeName).toBe(os.hostname());
  });

  it('reads every kind of value from the environment', () => {
    const s = loadSettings({
      SCOPEHIVE_MODELS: 'yolo11n_int8,yolov8n-fp32',
      SCOPEHIVE_CONFIDENCE: '0.4',
      SCOPEHIVE_ANNOTATE: 'off',
      SCOPEHIVE_POLLING: 'TRUE',
      SCOPEHIVE_PORT: '0',
      NATS_URL: 'nats://nats:4222',
    });
    expect(s.models).toEqual(['yolo11n_int8', 'yolov8n-fp32']);
    expect(s.confidence).toBe(0.4);
    expect(s.annotate).toBe(false);
    expect(s.polling).toBe('true');
    expect(s.port).toBe(0);
    expect(s.natsUrl).toBe('nats://nats:4222');
  });

  it('gives every default a value its own parser accepts', () => {
    for (const s of Object.values(settingsSchema)) {
      if (s.default !== undefined) expect(() => s.parse(s.default as string), s.env).not.toThrow();
    }
  });
});

describe('README', () => {
  // The README's settings table is the user's reference; a setting missing there is undocumented.
  it('documents every environment variable of the settings schema', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const missing = Object.values(settingsSchema)
      .map((s) => s.env)
      // Whole names only: SCOPEHIVE_MODELS_DIR alone must not count as documenting SCOPEHIVE_MODELS.
      .filter((env) => !new RegExp(`\\b${env}\\b`).test(readme));
    expect(missing).toEqual([]);
  });
});
