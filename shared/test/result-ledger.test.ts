import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResultLedger } from '../src/result/ledger.ts';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-ledger-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await fs.rm(dir, { recursive: true, force: true });
});

const identity = { imageSha256: 'a'.repeat(64), modelSha256: 'b'.repeat(64) };
const doc = (imageSha256: string, modelSha256: string) =>
  JSON.stringify({ image: { sha256: imageSha256 }, model: { sha256: modelSha256 } });

describe('ResultLedger', () => {
  it('says done only for a result of exactly this content and model version', async () => {
    const file = path.join(dir, 'a.jpg.m.json');
    const ledger = new ResultLedger();
    expect(await ledger.isCurrent(file, identity)).toBe(false);
    await fs.writeFile(file, doc(identity.imageSha256, identity.modelSha256));
    expect(await ledger.isCurrent(file, identity)).toBe(true);
    expect(await ledger.isCurrent(file, { ...identity, modelSha256: 'c'.repeat(64) })).toBe(false);
    expect(await ledger.isCurrent(file, { ...identity, imageSha256: 'd'.repeat(64) })).toBe(false);
  });

  it('reads a result document once, not once per question', async () => {
    const file = path.join(dir, 'a.jpg.m.json');
    await fs.writeFile(file, doc(identity.imageSha256, identity.modelSha256));
    const ledger = new ResultLedger();
    const reads = vi.spyOn(fs, 'readFile');
    for (let i = 0; i < 5; i++) expect(await ledger.isCurrent(file, identity)).toBe(true);
    expect(reads.mock.calls.filter(([f]) => f === file)).toHaveLength(1);
  });

  it('notices a result replaced or deleted behind its back', async () => {
    const file = path.join(dir, 'a.jpg.m.json');
    await fs.writeFile(file, doc(identity.imageSha256, identity.modelSha256));
    const ledger = new ResultLedger();
    expect(await ledger.isCurrent(file, identity)).toBe(true);
    await fs.writeFile(file, doc('e'.repeat(64), identity.modelSha256));
    // A different modification time than the one remembered: the file is read again.
    await fs.utimes(file, new Date(), new Date(Date.now() + 5000));
    expect(await ledger.isCurrent(file, identity)).toBe(false);
    await fs.rm(file);
    expect(await ledger.isCurrent(file, { ...identity, imageSha256: 'e'.repeat(64) })).toBe(false);
  });

  it('treats a damaged result as not done, so the image is analysed again', async () => {
    const file = path.join(dir, 'a.jpg.m.json');
    await fs.writeFile(file, '{"image": ');
    expect(await new ResultLedger().isCurrent(file, identity)).toBe(false);
  });

  it('knows what this process wrote without reading it', async () => {
    const file = path.join(dir, 'a.jpg.m.json');
    await fs.writeFile(file, doc(identity.imageSha256, identity.modelSha256));
    const ledger = new ResultLedger();
    await ledger.record(file, identity);
    const reads = vi.spyOn(fs, 'readFile');
    expect(await ledger.isCurrent(file, identity)).toBe(true);
    expect(reads).not.toHaveBeenCalled();
  });
});
