import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSidecar, readSidecar } from '../../src/model/sidecar.ts';

describe('parseSidecar', () => {
  it('reads every known field and keeps the rest for the features that use it', () => {
    const sidecar = parseSidecar({
      confidence: 0.4,
      iou: 0.6,
      maxDetections: 50,
      names: ['pore', 'crack'],
      classes: ['pore'],
      enabled: true,
      pixelSize: { value: 2.5, unit: 'nm' },
      tiling: { overlap: 0.2 },
    });
    expect(sidecar).toEqual({
      confidence: 0.4,
      iou: 0.6,
      maxDetections: 50,
      names: ['pore', 'crack'],
      classes: ['pore'],
      enabled: true,
      extra: { pixelSize: { value: 2.5, unit: 'nm' }, tiling: { overlap: 0.2 } },
    });
  });

  it('accepts the bounds 0 and 1 and leaves absent fields unset', () => {
    const sidecar = parseSidecar({ confidence: 0, iou: 1 });
    expect([sidecar.confidence, sidecar.iou]).toEqual([0, 1]);
    expect(sidecar.maxDetections).toBeUndefined();
    expect(sidecar.names).toBeUndefined();
    expect(sidecar.enabled).toBeUndefined();
    expect(sidecar.extra).toEqual({});
  });

  it('reads an empty sidecar as no overrides', () => {
    expect(parseSidecar(null)).toEqual({ extra: {} });
    expect(parseSidecar(undefined)).toEqual({ extra: {} });
    expect(parseSidecar({})).toEqual({ extra: {} });
  });

  it('takes names as an {id: name} map, filling gaps with classN', () => {
    expect(parseSidecar({ names: { 1: 'crack', 0: 'pore' } }).names).toEqual(['pore', 'crack']);
    expect(parseSidecar({ names: { '0': 'pore', '3': 'void' } }).names).toEqual([
      'pore',
      'class1',
      'class2',
      'void',
    ]);
  });

  it.each([
    [{ confidence: 1.5 }, 'm.json: "confidence" must be a number from 0 to 1'],
    [{ confidence: '0.5' }, 'm.json: "confidence" must be a number from 0 to 1'],
    [{ iou: -0.1 }, 'm.json: "iou" must be a number from 0 to 1'],
    [{ iou: Number.NaN }, 'm.json: "iou" must be a number from 0 to 1'],
    [{ maxDetections: 0 }, 'm.json: "maxDetections" must be a positive whole number'],
    [{ maxDetections: 2.5 }, 'm.json: "maxDetections" must be a positive whole number'],
    [{ maxDetections: '10' }, 'm.json: "maxDetections" must be a positive whole number'],
    [{ names: ['pore', 2] }, 'm.json: "names" must be a list of names or an {id: name} map'],
    [{ names: { pore: 'pore' } }, 'm.json: "names" must be a list of names or an {id: name} map'],
    [{ names: { '-1': 'pore' } }, 'm.json: "names" must be a list of names or an {id: name} map'],
    [{ names: { 0: 7 } }, 'm.json: "names" must be a list of names or an {id: name} map'],
    [{ names: 'pore' }, 'm.json: "names" must be a list of names or an {id: name} map'],
    [{ classes: 'pore' }, 'm.json: "classes" must be a list of class names'],
    [{ classes: ['pore', null] }, 'm.json: "classes" must be a list of class names'],
    [{ enabled: 'no' }, 'm.json: "enabled" must be true or false'],
    [['pore'], 'm.json: expected an object of settings'],
    [0.5, 'm.json: expected an object of settings'],
  ])('rejects %j with one readable line', (raw, message) => {
    expect(() => parseSidecar(raw, 'm.json')).toThrow(new Error(message));
  });

  it('names the sidecar "sidecar" when no file is given', () => {
    expect(() => parseSidecar({ iou: 2 })).toThrow('sidecar: "iou" must be a number from 0 to 1');
  });
});

describe('readSidecar', () => {
  let dir: string;
  let model: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scopehive-sidecar-'));
    model = path.join(dir, 'particles.onnx');
    await fs.writeFile(model, 'onnx bytes');
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is undefined when the model has no sidecar', async () => {
    expect(await readSidecar(model)).toBeUndefined();
  });

  it('reads <model>.json', async () => {
    const file = path.join(dir, 'particles.json');
    await fs.writeFile(
      file,
      JSON.stringify({ confidence: 0.3, names: ['pore', 'crack'], calibration: 'tiff' }),
    );
    expect(await readSidecar(model)).toEqual({
      file,
      sidecar: { confidence: 0.3, names: ['pore', 'crack'], extra: { calibration: 'tiff' } },
    });
  });

  it('reads <model>.yaml, names as an {id: name} map', async () => {
    const file = path.join(dir, 'particles.yaml');
    await fs.writeFile(file, 'iou: 0.5\nnames:\n  0: pore\n  1: crack\nclasses: [crack]\nenabled: false\n');
    expect(await readSidecar(model)).toEqual({
      file,
      sidecar: { iou: 0.5, names: ['pore', 'crack'], classes: ['crack'], enabled: false, extra: {} },
    });
  });

  it('reads <model>.yml, and a model named .ONNX in capitals', async () => {
    const upper = path.join(dir, 'Cells.ONNX');
    await fs.writeFile(path.join(dir, 'Cells.yml'), 'names: [nucleus, membrane]\n');
    expect((await readSidecar(upper))?.sidecar.names).toEqual(['nucleus', 'membrane']);
  });

  it('prefers .json over .yaml when both exist', async () => {
    await fs.writeFile(path.join(dir, 'particles.json'), '{"confidence": 0.1}');
    await fs.writeFile(path.join(dir, 'particles.yaml'), 'confidence: 0.9\n');
    const found = await readSidecar(model);
    expect(found?.file).toBe(path.join(dir, 'particles.json'));
    expect(found?.sidecar.confidence).toBe(0.1);
  });

  it('reads an empty YAML file as no overrides', async () => {
    await fs.writeFile(path.join(dir, 'particles.yaml'), '');
    expect((await readSidecar(model))?.sidecar).toEqual({ extra: {} });
  });

  it('says which file is not valid JSON or YAML', async () => {
    const json = path.join(dir, 'particles.json');
    await fs.writeFile(json, '{"confidence": 0.3,');
    await expect(readSidecar(model)).rejects.toThrow(`sidecar ${json} is not valid JSON: `);
    await fs.rm(json);
    const yaml = path.join(dir, 'particles.yaml');
    await fs.writeFile(yaml, 'names: [pore, crack\n');
    await expect(readSidecar(model)).rejects.toThrow(`sidecar ${yaml} is not valid YAML: `);
  });

  it('names the file and the field of a bad value', async () => {
    const yaml = path.join(dir, 'particles.yaml');
    await fs.writeFile(yaml, 'confidence: high\n');
    await expect(readSidecar(model)).rejects.toThrow(
      new Error(`${yaml}: "confidence" must be a number from 0 to 1`),
    );
  });
});
