import { type Job, makeJob } from '../../src/job.ts';

/** Job `n` of a session on node-a, for `model`; the same arguments always give the same job. */
export function testJob(n: number, model = 'particles'): Job {
  return makeJob({
    origin: 'node-a',
    image: { path: `run1/img${n}.tif`, bytes: 1000 + n, sha256: `${n}`.padStart(64, '0') },
    model: { name: model, sha256: 'f'.repeat(64) },
    seenAt: 1_700_000_000_000 + n,
  });
}
