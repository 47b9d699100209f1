import { describe, expect, it } from 'vitest';
import { makeJob, parseJob, toInboxRelative } from '../src/job.ts';

const spec = {
  origin: 'scope-1',
  image: { path: 'session/a.tif', bytes: 1234, sha256: 'a'.repeat(64) },
  model: { name: 'yolov8n', sha256: 'b'.repeat(64) },
  seenAt: 1_700_000_000_000,
};

describe('makeJob', () => {
  it('names the origin, the image and the model, and derives a stable id', () => {
    const job = makeJob(spec);
    expect(job).toMatchObject({
      origin: 'scope-1',
      image: spec.image,
      model: spec.model,
      seenAt: spec.seenAt,
    });
    expect(makeJob(spec).id).toBe(job.id);
    expect(job.id.startsWith(`${'a'.repeat(32)}.yolov8n.${'b'.repeat(16)}.`)).toBe(true);
  });

  it('gives a different id to the same bytes at another path, on another node, or under another model', () => {
    const id = makeJob(spec).id;
    expect(makeJob({ ...spec, image: { ...spec.image, path: 'session/copy.tif' } }).id).not.toBe(id);
    expect(makeJob({ ...spec, origin: 'scope-2' }).id).not.toBe(id);
    expect(makeJob({ ...spec, model: { ...spec.model, sha256: 'c'.repeat(64) } }).id).not.toBe(id);
    // When it was seen is not part of what it is.
    expect(makeJob({ ...spec, seenAt: 1 }).id).toBe(id);
  });

  it('keeps only the model name and hash of a richer model object', () => {
    const job = makeJob({ ...spec, model: { ...spec.model, provider: 'cpu' } as typeof spec.model });
    expect(job.model).toEqual(spec.model);
  });

  it('refuses a path that leaves the inbox', () => {
    expect(() => makeJob({ ...spec, image: { ...spec.image, path: '../etc/passwd' } })).toThrow(
      /not a path inside/,
    );
    expect(() => makeJob({ ...spec, image: { ...spec.image, path: '/etc/passwd' } })).toThrow(
      /not a path inside/,
    );
  });
});

describe('parseJob', () => {
  it('round-trips a job through JSON', () => {
    const job = makeJob(spec);
    expect(parseJob(JSON.stringify(job))).toEqual(job);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['no origin', { ...makeJob(spec), origin: '' }, /no origin/],
    ['a bad hash', { ...makeJob(spec), image: { ...spec.image, sha256: 'xyz' } }, /bad image sha256/],
    ['a negative size', { ...makeJob(spec), image: { ...spec.image, bytes: -1 } }, /bad image size/],
    ['no model', { ...makeJob(spec), model: { sha256: 'b'.repeat(64) } }, /no model name/],
    ['an id that does not match', { ...makeJob(spec), id: 'forged' }, /does not match/],
    [
      'a path out of the inbox',
      { ...makeJob(spec), image: { ...spec.image, path: 'a/../../x' } },
      /not a path inside/,
    ],
  ])('refuses %s with one line', (_what, value, message) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    expect(() => parseJob(text)).toThrow(message);
  });
});

describe('toInboxRelative', () => {
  it('keeps a backslash as part of a file name: it is one on the share', () => {
    expect(toInboxRelative('day1\\a.tif')).toBe('day1\\a.tif');
    expect(toInboxRelative('day1/a\\b.tif')).toBe('day1/a\\b.tif');
  });

  it('refuses paths that are not inside the inbox', () => {
    for (const bad of ['/etc/passwd', '../x', 'a/../../x', 'a//b', './a']) {
      expect(() => toInboxRelative(bad)).toThrow(/not a path inside the inbox/);
    }
  });
});
