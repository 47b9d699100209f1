import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Section } from '../../src/config/define.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { definedVariables, editDistance, loadConfig, unknownSettings } from '../../src/config/load.ts';
import { type SectionName, sections } from '../../src/config/sections.ts';

const allSections = Object.keys(sections) as SectionName[];

/** Every section, as the one process of `npm start` reads them. */
const load = (env: NodeJS.ProcessEnv) => loadConfig(allSections, env).config;

/** The ConfigError `env` raises (fails the test when none is thrown). */
function errorOf(names: readonly SectionName[], env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(names, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has the documented defaults with no environment', () => {
    const c = load({});
    expect(c.analysis).toMatchObject({
      models: ['all'],
      confidence: 0.25,
      iou: 0.45,
      maxDetections: 300,
      maxPixels: 100_000_000,
      annotate: true,
    });
    expect(c.watch).toEqual({ stableMs: 1500, polling: 'auto', pollIntervalMs: 1000 });
    expect(c.queue).toEqual({ natsUrl: undefined, capacity: 256, maxDeliver: 3, ackWaitMs: 120_000 });
    expect(c.runtime).toMatchObject({ threads: 0, providers: ['auto'] });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 9464, rateWindowS: 30 });
    expect(c.node.logLevel).toBe('info');
  });

  it('gives a service only the sections it asks for', () => {
    const { config } = loadConfig(['paths', 'queue'], {});
    expect(Object.keys(config).sort()).toEqual(['paths', 'queue']);
  });

  it('checks only the sections asked for: a bad exporter setting does not stop ingest', () => {
    expect(() => loadConfig(['paths', 'watch'], { SCOPEHIVE_PORT: 'abc' })).not.toThrow();
    expect(() => loadConfig(['http'], { SCOPEHIVE_PORT: 'abc' })).toThrow(ConfigError);
  });

  it('puts inbox, models, results and rejected under an absolute data folder by default', () => {
    const { paths } = load({});
    const data = path.resolve('./data');
    expect(paths.data).toBe(data);
    expect(paths.inbox).toBe(path.join(data, 'inbox'));
    expect(paths.models).toBe(path.join(data, 'models'));
    expect(paths.results).toBe(path.join(data, 'results'));
    expect(paths.rejected).toBe(path.join(data, 'rejected'));

    const moved = load({ SCOPEHIVE_DATA_DIR: '/srv/scope' }).paths;
    expect(moved.inbox).toBe('/srv/scope/inbox');
    expect(moved.rejected).toBe('/srv/scope/rejected');
  });

  it('takes explicit folders over the data folder, made absolute', () => {
    const { paths } = load({
      SCOPEHIVE_DATA_DIR: '/data',
      SCOPEHIVE_INBOX_DIR: '/share/microscope',
      SCOPEHIVE_MODELS_DIR: 'models-here',
      SCOPEHIVE_RESULTS_DIR: '/share/results',
      SCOPEHIVE_REJECTED_DIR: '',
    });
    expect(paths.inbox).toBe('/share/microscope');
    expect(paths.models).toBe(path.resolve('models-here'));
    expect(paths.results).toBe('/share/results');
    expect(paths.rejected).toBe('/data/rejected');
  });

  it('names the node by SCOPEHIVE_NODE_NAME, else BALENA_DEVICE_UUID, else the host name', () => {
    expect(load({}).node.name).toBe(os.hostname());
    expect(load({ BALENA_DEVICE_UUID: 'a1b2c3d4e5f6' }).node.name).toBe('a1b2c3d4e5f6');
    expect(load({ BALENA_DEVICE_UUID: 'a1b2c3d4e5f6', SCOPEHIVE_NODE_NAME: 'sem-1' }).node.name).toBe(
      'sem-1',
    );
    expect(load({ BALENA_DEVICE_UUID: '' }).node.name).toBe(os.hostname());
  });

  it('reads every kind of value from the environment', () => {
    const c = load({
      SCOPEHIVE_MODELS: 'yolo11n_int8,yolov8n-fp32',
      SCOPEHIVE_CONFIDENCE: '0.4',
      SCOPEHIVE_ANNOTATE: 'off',
      SCOPEHIVE_POLLING: 'TRUE',
      SCOPEHIVE_PORT: '0',
      NATS_URL: 'nats://nats:4222',
    });
    expect(c.analysis.models).toEqual(['yolo11n_int8', 'yolov8n-fp32']);
    expect(c.analysis.confidence).toBe(0.4);
    expect(c.analysis.annotate).toBe(false);
    expect(c.watch.polling).toBe('true');
    expect(c.http.port).toBe(0);
    expect(c.queue.natsUrl).toBe('nats://nats:4222');
  });

  it('gives every default a value its own parser accepts', () => {
    for (const s of Object.values(sections)) {
      for (const setting of Object.values((s as unknown as Section).settings)) {
        if (setting.default !== undefined) {
          expect(() => setting.parse(setting.default as string), setting.env).not.toThrow();
        }
      }
    }
  });

  it('defines each variable in one section only', () => {
    const defined = definedVariables();
    expect(new Set(defined).size).toBe(defined.length);
  });
});

describe('loadConfig errors', () => {
  it('refuses hive mode without NATS in one line, and is off with role both by default', () => {
    expect(load({}).hive).toEqual({ enabled: false, role: 'both' });
    expect(errorOf(['hive'], { SCOPEHIVE_HIVE: 'true' }).problems).toEqual([
      'SCOPEHIVE_HIVE=true needs NATS_URL',
    ]);
    expect(
      loadConfig(['hive'], {
        SCOPEHIVE_HIVE: 'true',
        NATS_URL: 'nats://127.0.0.1:4222',
        SCOPEHIVE_ROLE: 'worker',
      }).config.hive,
    ).toEqual({
      enabled: true,
      role: 'worker',
    });
    expect(errorOf(['hive'], { SCOPEHIVE_ROLE: 'gpu' }).message).toMatch(
      /^SCOPEHIVE_ROLE="gpu" is invalid: expected one of microscope, worker, both$/,
    );
  });

  it('is one line naming the variable, the value and what was expected, for one bad value', () => {
    const err = errorOf(allSections, { SCOPEHIVE_PORT: 'abc' });
    expect(err.name).toBe('ConfigError');
    expect(err.message).toBe('SCOPEHIVE_PORT="abc" is invalid: expected a whole number from 0 to 65535');
    expect(errorOf(allSections, { SCOPEHIVE_ACK_WAIT_MS: '10' }).message).toBe(
      'SCOPEHIVE_ACK_WAIT_MS="10" is invalid: expected a whole number from 1000 to 3600000',
    );
    expect(errorOf(allSections, { SCOPEHIVE_LOG_LEVEL: 'loud' }).message).toBe(
      'SCOPEHIVE_LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent',
    );
  });

  it('reports every bad value at once, one line each, across sections', () => {
    const err = errorOf(allSections, {
      SCOPEHIVE_PORT: 'abc',
      SCOPEHIVE_CONFIDENCE: '2',
      SCOPEHIVE_POLLING: 'sometimes',
      SCOPEHIVE_ACK_WAIT_MS: '10',
    });
    expect(err.problems).toEqual([
      'SCOPEHIVE_POLLING="sometimes" is invalid: expected one of auto, true, false',
      'SCOPEHIVE_CONFIDENCE="2" is invalid: expected a number from 0 to 1',
      'SCOPEHIVE_ACK_WAIT_MS="10" is invalid: expected a whole number from 1000 to 3600000',
      'SCOPEHIVE_PORT="abc" is invalid: expected a whole number from 0 to 65535',
    ]);
    expect(err.message).toBe(err.problems.join('\n'));
  });

  it('checks the stretch percentiles against each other', () => {
    expect(
      errorOf(['analysis'], { SCOPEHIVE_STRETCH_LOW: '99', SCOPEHIVE_STRETCH_HIGH: '1' }).problems,
    ).toEqual(['SCOPEHIVE_STRETCH_LOW=99 must be below SCOPEHIVE_STRETCH_HIGH=1']);
    expect(
      errorOf(['analysis', 'http'], {
        SCOPEHIVE_STRETCH_LOW: '5',
        SCOPEHIVE_STRETCH_HIGH: '5',
        SCOPEHIVE_PORT: '-1',
      }).problems,
    ).toEqual([
      'SCOPEHIVE_STRETCH_LOW=5 must be below SCOPEHIVE_STRETCH_HIGH=5',
      'SCOPEHIVE_PORT="-1" is invalid: expected a whole number from 0 to 65535',
    ]);
  });
});

describe('unknown settings', () => {
  it('warns about a mistyped variable and suggests the closest known name', () => {
    const { warnings } = loadConfig(['analysis'], { SCOPEHIVE_CONFIDANCE: '0.5' });
    expect(warnings).toEqual(['unknown setting SCOPEHIVE_CONFIDANCE (did you mean SCOPEHIVE_CONFIDENCE?)']);
  });

  it('suggests nothing when no known name is near', () => {
    expect(unknownSettings({ SCOPEHIVE_FAVOURITE_COLOUR: 'blue' })).toEqual([
      'unknown setting SCOPEHIVE_FAVOURITE_COLOUR',
    ]);
  });

  it('does not warn about settings of sections this service did not ask for, nor of other containers', () => {
    const { warnings } = loadConfig(['paths'], {
      SCOPEHIVE_PORT: '9000',
      SCOPEHIVE_PROC_ROOT: '/host/proc',
      SCOPEHIVE_NFS_ALLOWED: '10.0.0.0/8',
      SCOPEHIVE_SHARED_DIR: '/shared',
      NATS_URL: 'nats://x:4222',
      PATH: '/usr/bin',
    });
    expect(warnings).toEqual([]);
  });

  it('lists several unknown variables in name order', () => {
    expect(unknownSettings({ SCOPEHIVE_TILLING: 'never', SCOPEHIVE_IUO: '0.5' })).toEqual([
      'unknown setting SCOPEHIVE_IUO (did you mean SCOPEHIVE_IOU?)',
      'unknown setting SCOPEHIVE_TILLING (did you mean SCOPEHIVE_TILING?)',
    ]);
  });
});

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['CONFIDANCE', 'CONFIDENCE', 1],
    ['IUO', 'IOU', 1],
    ['TILLING', 'TILING', 1],
    ['ab', 'ba', 1],
  ])('%j → %j is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});
