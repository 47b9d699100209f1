/**
 * The current rows of each (image, model) pair in a CSV table (issue 8, item 5): rows superseded by
 * a new analysis of the same pair disappear, whoever wrote them, whatever crashed in between.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCsvLine } from '../../src/results/csv.ts';
import { CsvTables } from '../../src/results/csv-table.ts';

const COLUMNS = ['Image', 'Model', 'Class'];
const HEADER_LINE = 'Image,Model,Class,ResultId\n';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-table-'));
  file = path.join(dir, 'run1', 'detections.csv');
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const read = () => fs.readFile(file, 'utf8');
const rowsOf = (image: string, model: string, ...classes: string[]) => classes.map((c) => [image, model, c]);
/** The table's rows as `image model class id`, in file order. */
const lines = async () =>
  (await read())
    .split('\n')
    .slice(1, -1)
    .map((l) => parseCsvLine(l).join(' '));

describe('CsvTables: one current set of rows per (image, model)', () => {
  it('replaces the rows of an image analysed again, keeping every other row in place', async () => {
    const tables = new CsvTables();
    await tables.append(file, COLUMNS, 'a1', rowsOf('a.jpg', 'm', 'pore', 'crack'));
    await tables.append(file, COLUMNS, 'b1', rowsOf('b.jpg', 'm', 'pore'));
    await tables.append(file, COLUMNS, 'a1-m2', rowsOf('a.jpg', 'm2', 'pore'));
    expect(await tables.append(file, COLUMNS, 'a2', rowsOf('a.jpg', 'm', 'grain'))).toBe(true);
    expect(await lines()).toEqual(['b.jpg m pore b1', 'a.jpg m2 pore a1-m2', 'a.jpg m grain a2']);
    expect((await read()).startsWith(HEADER_LINE)).toBe(true);
  });

  it('removes the old rows when the new analysis has none', async () => {
    const tables = new CsvTables();
    await tables.append(file, COLUMNS, 'a1', rowsOf('a.jpg', 'm', 'pore', 'crack'));
    await tables.append(file, COLUMNS, 'b1', rowsOf('b.jpg', 'm', 'pore'));
    expect(await tables.append(file, COLUMNS, 'a2', [], { image: 'a.jpg', model: 'm' })).toBe(true);
    expect(await lines()).toEqual(['b.jpg m pore b1']);
    // Its redelivery changes nothing, and neither does the old analysis arriving again as a no-op.
    expect(await tables.append(file, COLUMNS, 'a2', [], { image: 'a.jpg', model: 'm' })).toBe(false);
    expect(await lines()).toEqual(['b.jpg m pore b1']);
  });

  it('replaces rows written before a restart', async () => {
    await new CsvTables().append(file, COLUMNS, 'a1', rowsOf('a.jpg', 'm', 'pore', 'crack'));
    const restarted = new CsvTables();
    expect(await restarted.append(file, COLUMNS, 'a1', rowsOf('a.jpg', 'm', 'pore', 'crack'))).toBe(false);
    await restarted.append(file, COLUMNS, 'a2', rowsOf('a.jpg', 'm', 'grain'));
    expect(await lines()).toEqual(['a.jpg m grain a2']);
  });

  it('repairs a table holding two analyses of one pair (a crash, or an older version): the later one stays', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(
      file,
      `${HEADER_LINE}a.jpg,m,pore,a1\nb.jpg,m,pore,b1\na.jpg,m,crack,a1\na.jpg,m,grain,a2\n`,
    );
    await new CsvTables().append(file, COLUMNS, 'c1', rowsOf('c.jpg', 'm', 'pore'));
    expect(await lines()).toEqual(['b.jpg m pore b1', 'a.jpg m grain a2', 'c.jpg m pore c1']);
  });

  it("sees another process's replacement and keeps appending to the new table", async () => {
    const a = new CsvTables();
    const b = new CsvTables();
    await a.append(file, COLUMNS, 'a1', rowsOf('a.jpg', 'm', 'pore'));
    await b.append(file, COLUMNS, 'a2', rowsOf('a.jpg', 'm', 'grain'));
    await a.append(file, COLUMNS, 'c1', rowsOf('c.jpg', 'm', 'pore'));
    expect(await a.append(file, COLUMNS, 'a2', rowsOf('a.jpg', 'm', 'grain'))).toBe(false);
    expect(await lines()).toEqual(['a.jpg m grain a2', 'c.jpg m pore c1']);
  });

  it('loses and repeats nothing when two processes append and replace at once', async () => {
    const a = new CsvTables();
    const b = new CsvTables();
    const images = Array.from({ length: 30 }, (_, i) => `img${i}.jpg`);
    for (const image of images) await a.append(file, COLUMNS, `${image}-1`, rowsOf(image, 'm', 'x', 'y'));
    // b analyses every image again while a adds new ones and b's redeliveries arrive at a.
    await Promise.all([
      ...images.map((image) => b.append(file, COLUMNS, `${image}-2`, rowsOf(image, 'm', 'z'))),
      ...images.map((_, i) => a.append(file, COLUMNS, `new${i}-1`, rowsOf(`new${i}.jpg`, 'm', 'x'))),
    ]);
    for (const image of images) await a.append(file, COLUMNS, `${image}-2`, rowsOf(image, 'm', 'z'));
    const expected = [
      ...images.map((image) => `${image} m z ${image}-2`),
      ...images.map((_, i) => `new${i}.jpg m x new${i}-1`),
    ];
    await waitFor(async () => (await lines()).length === expected.length);
    expect((await lines()).sort()).toEqual(expected.sort());
    expect(await fs.readdir(path.dirname(file))).toEqual(['detections.csv']);
  });

  it('ends with only the current rows after a burst of replacements', async () => {
    const tables = new CsvTables();
    const images = Array.from({ length: 200 }, (_, i) => `img${i}.jpg`);
    for (const image of images) await tables.append(file, COLUMNS, `${image}-1`, rowsOf(image, 'm', 'x'));
    await Promise.all(
      images.map((image) => tables.append(file, COLUMNS, `${image}-2`, rowsOf(image, 'm', 'y'))),
    );
    await tables.settled();
    expect(await lines()).toEqual(images.map((image) => `${image} m y ${image}-2`));
  });

  it('takes over the lock of a writer that was killed while holding it', async () => {
    await new CsvTables().append(file, COLUMNS, 'a1', rowsOf('a.jpg', 'm', 'pore'));
    // What a SIGKILLed process leaves: a lock naming a process of this host that no longer runs.
    const lock = path.join(path.dirname(file), '.detections.csv.lock');
    await fs.writeFile(lock, `${JSON.stringify({ ...(await ownerOfDeadProcess()) })}\n`);
    await new CsvTables().append(file, COLUMNS, 'b1', rowsOf('b.jpg', 'm', 'pore'));
    expect(await lines()).toEqual(['a.jpg m pore a1', 'b.jpg m pore b1']);
    expect(await fs.readdir(path.dirname(file))).toEqual(['detections.csv']);
  });
});

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The lock owner of a process of this host that has exited. */
async function ownerOfDeadProcess() {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid;
  await new Promise((resolve) => child.on('exit', resolve));
  const { lockOwner } = await import('../../src/results/table-lock.ts');
  return { ...lockOwner(), pid, token: 'dead' };
}

describe('CsvTables on a hostile share', () => {
  it('refuses a table that is a symbolic link, and writes nothing through it', async () => {
    const outside = path.join(dir, 'outside.csv');
    await fs.writeFile(outside, 'precious\n');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.symlink(outside, file);
    await expect(
      new CsvTables().append(file, COLUMNS, 'a1', rowsOf('a.jpg', 'm', 'pore')),
    ).rejects.toMatchObject({
      code: 'EOUTSIDE',
    });
    expect(await fs.readFile(outside, 'utf8')).toBe('precious\n');
  });
});
