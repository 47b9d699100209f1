import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { csvCell, csvRow, parseCsvLine } from '../../src/results/csv.ts';
import { CsvTables } from '../../src/results/csv-table.ts';

describe('csvCell', () => {
  it('writes plain text and finite numbers as they are', () => {
    expect(csvCell('particle')).toBe('particle');
    expect(csvCell('µm²')).toBe('µm²');
    expect(csvCell(12.5)).toBe('12.5');
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(0)).toBe('0');
    expect(csvCell(true)).toBe('true');
  });

  it('leaves missing values and non-finite numbers empty', () => {
    expect([undefined, null, Number.NaN, Number.POSITIVE_INFINITY].map(csvCell)).toEqual(['', '', '', '']);
  });

  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    expect(csvCell('run 1, grid 2')).toBe('"run 1, grid 2"');
    expect(csvCell('the "big" one')).toBe('"the ""big"" one"');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"');
  });

  it('defuses text a spreadsheet would run as a formula', () => {
    expect(csvCell('=cmd')).toBe("'=cmd");
    expect(csvCell('+1+1')).toBe("'+1+1");
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('@SUM(A1:A9)')).toBe("'@SUM(A1:A9)");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('=HYPERLINK("http://x","y").tif')).toBe('"\'=HYPERLINK(""http://x"",""y"").tif"');
    expect(csvCell('a=b')).toBe('a=b');
  });
});

describe('csvRow and parseCsvLine', () => {
  it('writes one line ending in \\n', () => {
    expect(csvRow(['img1.tif', 3, 0.91, undefined, 'a,b'])).toBe('img1.tif,3,0.91,,"a,b"\n');
  });

  it('reads back what csvRow wrote', () => {
    const cells = ['run1/img 1.tif', 'the "big" one', 'a,b,c', '', '42', 'µm', ''];
    const line = csvRow(cells);
    expect(parseCsvLine(line.slice(0, -1))).toEqual(cells);
  });

  it('keeps the apostrophe of a defused formula when read back', () => {
    expect(parseCsvLine(csvRow(['=cmd', 1]).trimEnd())).toEqual(["'=cmd", '1']);
  });

  it('splits empty cells and honours quoted commas', () => {
    expect(parseCsvLine('a,,b')).toEqual(['a', '', 'b']);
    expect(parseCsvLine('')).toEqual(['']);
    expect(parseCsvLine(',')).toEqual(['', '']);
    expect(parseCsvLine('"x,y",""""')).toEqual(['x,y', '"']);
  });
});

describe('CsvTables', () => {
  const HEADER = ['Image', 'Class', 'Area'];
  const HEADER_LINE = 'Image,Class,Area,ResultId\n';
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-csv-'));
    file = path.join(dir, 'run1', 'detections.csv');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const read = () => fs.readFile(file, 'utf8');

  it('creates the table with its header, then appends the rows of each key once', async () => {
    const tables = new CsvTables();
    expect(
      await tables.append(file, HEADER, 'k1', [
        ['img1.tif', 'pore', 12.5],
        ['img1.tif', 'crack', 3],
      ]),
    ).toBe(true);
    expect(await tables.append(file, HEADER, 'k2', [['img2.tif', 'pore', 7]])).toBe(true);
    expect(await tables.append(file, HEADER, 'k1', [['img1.tif', 'pore', 12.5]])).toBe(false);
    expect(await read()).toBe(
      `${HEADER_LINE}img1.tif,pore,12.5,k1\nimg1.tif,crack,3,k1\nimg2.tif,pore,7,k2\n`,
    );
  });

  it('does not repeat a row after a restart (a new CsvTables reads the keys from the file)', async () => {
    await new CsvTables().append(file, HEADER, 'k1', [['img1.tif', 'pore', 1]]);
    const restarted = new CsvTables();
    expect(await restarted.append(file, HEADER, 'k1', [['img1.tif', 'pore', 1]])).toBe(false);
    expect(await restarted.append(file, HEADER, 'k2', [['img2.tif', 'pore', 2]])).toBe(true);
    expect(await read()).toBe(`${HEADER_LINE}img1.tif,pore,1,k1\nimg2.tif,pore,2,k2\n`);
  });

  it('sees rows another writer added since its last look', async () => {
    const a = new CsvTables();
    const b = new CsvTables();
    await a.append(file, HEADER, 'k1', [['img1.tif', 'pore', 1]]);
    await b.append(file, HEADER, 'k2', [['img2.tif', 'pore', 2]]);
    expect(await a.append(file, HEADER, 'k2', [['img2.tif', 'pore', 2]])).toBe(false);
    expect(await read()).toBe(`${HEADER_LINE}img1.tif,pore,1,k1\nimg2.tif,pore,2,k2\n`);
  });

  it('closes a partial last line before appending, so rows stay whole', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, `${HEADER_LINE}img1.tif,pore,1,k1\nimg2.tif,po`);
    const tables = new CsvTables();
    expect(await tables.append(file, HEADER, 'k1', [['img1.tif', 'pore', 1]])).toBe(false);
    expect(await tables.append(file, HEADER, 'k3', [['img3.tif', 'pore', 3]])).toBe(true);
    expect(await read()).toBe(`${HEADER_LINE}img1.tif,pore,1,k1\nimg2.tif,po\nimg3.tif,pore,3,k3\n`);
  });

  it('serialises concurrent appends to one file: one header, every row, no duplicate', async () => {
    const tables = new CsvTables();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const added = await Promise.all([
      ...keys.map((k, i) => tables.append(file, HEADER, k, [[`img${i}.tif`, 'pore', i]])),
      tables.append(file, HEADER, 'k0', [['img0.tif', 'pore', 0]]),
    ]);
    expect(added).toEqual([...keys.map(() => true), false]);
    const lines = (await read()).split('\n');
    expect(lines[0]).toBe('Image,Class,Area,ResultId');
    expect(lines.slice(1, -1)).toEqual(keys.map((k, i) => `img${i}.tif,pore,${i},${k}`));
    expect(lines.at(-1)).toBe('');
  });

  it('keeps every row when two processes start the same table at once: one header, no row lost', async () => {
    // Two inference processes share the results folder; each has its own CsvTables.
    const a = new CsvTables();
    const b = new CsvTables();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const added = await Promise.all(
      keys.map((k, i) => (i % 2 === 0 ? a : b).append(file, HEADER, k, [[`img${i}.tif`, 'pore', i]])),
    );
    expect(added).toEqual(keys.map(() => true));
    const lines = (await read()).split('\n');
    expect(lines[0]).toBe('Image,Class,Area,ResultId');
    expect(lines.slice(1, -1).sort()).toEqual(keys.map((k, i) => `img${i}.tif,pore,${i},${k}`).sort());
    // Each sees the other's rows: nothing is appended twice.
    for (const [i, k] of keys.entries()) {
      expect(await a.append(file, HEADER, k, [[`img${i}.tif`, 'pore', i]])).toBe(false);
      expect(await b.append(file, HEADER, k, [[`img${i}.tif`, 'pore', i]])).toBe(false);
    }
    expect((await read()).split('\n')).toHaveLength(keys.length + 2);
    expect((await fs.readdir(path.dirname(file))).sort()).toEqual(['detections.csv']);
  });

  it('rejects a failed append for its caller only (no unhandled rejection) and runs the next one', async () => {
    const tables = new CsvTables();
    const broken = tables.append(file, HEADER, 'k1', null as never);
    const next = tables.append(file, HEADER, 'k2', [['img2.tif', 'pore', 2]]);
    await expect(broken).rejects.toThrow(TypeError);
    expect(await next).toBe(true);
    expect(await read()).toBe(`${HEADER_LINE}img2.tif,pore,2,k2\n`);
  });

  it('keeps a table with other columns renamed beside the new one', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const old = 'Image,Area,ResultId\nimg1.tif,12,k1\n';
    await fs.writeFile(file, old);
    const tables = new CsvTables();
    expect(await tables.append(file, HEADER, 'k1', [['img1.tif', 'pore', 12]])).toBe(true);
    expect(await read()).toBe(`${HEADER_LINE}img1.tif,pore,12,k1\n`);
    const names = (await fs.readdir(path.dirname(file))).sort();
    expect(names).toHaveLength(2);
    expect(names[1]).toBe('detections.csv');
    expect(names[0]).toMatch(/^detections\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.csv$/);
    expect(await fs.readFile(path.join(path.dirname(file), names[0]), 'utf8')).toBe(old);
  });

  it('starts a new table when the file was deleted', async () => {
    const tables = new CsvTables();
    await tables.append(file, HEADER, 'k1', [['img1.tif', 'pore', 1]]);
    await fs.rm(file);
    expect(await tables.append(file, HEADER, 'k1', [['img1.tif', 'pore', 1]])).toBe(true);
    expect(await read()).toBe(`${HEADER_LINE}img1.tif,pore,1,k1\n`);
  });

  it('quotes and defuses cells in table rows', async () => {
    await new CsvTables().append(file, HEADER, 'k1', [['=evil(),x.tif', '@class', 1]]);
    expect(await read()).toBe(`${HEADER_LINE}"'=evil(),x.tif",'@class,1,k1\n`);
  });
});
