import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCalibrationOverride } from '../../src/microscopy/calibration.ts';
import { parseSidecar, readSidecar, SidecarError } from '../../src/model/sidecar.ts';

describe('parseSidecar', () => {
  it('reads every known field, calibration and tiling included, and names the keys it ignores', () => {
    const sidecar = parseSidecar(
      {
        confidence: 0.4,
        iou: 0.6,
        maxDetections: 50,
        names: ['pore', 'crack'],
        classes: ['pore'],
        enabled: true,
        pixelSize: 2.5,
        unit: 'nm',
        tiling: 'always',
        tileOverlap: 0.2,
        wholeImagePass: true,
        colour: 'red',
      },
      '/data/models/particles.json',
    );
    expect(sidecar).toEqual({
      confidence: 0.4,
      iou: 0.6,
      maxDetections: 50,
      names: ['pore', 'crack'],
      classes: ['pore'],
      enabled: true,
      calibration: parseCalibrationOverride(
        { pixelSize: 2.5, unit: 'nm' },
        { source: 'model-sidecar', origin: 'particles sidecar' },
      ),
      tiling: { mode: 'always', overlap: 0.2, wholeImagePass: true },
      ignored: ['colour'],
    });
    // Results say where the pixel size came from by the model's name, not the server's folders.
    expect(sidecar.calibration?.calibration?.detail).toBe('pixelSize=2.5 nm in particles sidecar');
  });

  it('reads a data-bar crop alone, and tiling settings one by one', () => {
    expect(parseSidecar({ cropBottom: 70, override: true }, 'm.yaml').calibration).toEqual({
      source: 'model-sidecar',
      origin: 'm sidecar',
      override: true,
      cropBottom: 70,
    });
    expect(parseSidecar({ tileOverlap: 0 }).tiling).toEqual({ overlap: 0 });
    expect(parseSidecar({ wholeImagePass: false }).tiling).toEqual({ wholeImagePass: false });
  });

  it('accepts the bounds 0 and 1 and leaves absent fields unset', () => {
    const sidecar = parseSidecar({ confidence: 0, iou: 1 });
    expect([sidecar.confidence, sidecar.iou]).toEqual([0, 1]);
    expect(sidecar.maxDetections).toBeUndefined();
    expect(sidecar.names).toBeUndefined();
    expect(sidecar.enabled).toBeUndefined();
    expect(sidecar.calibration).toBeUndefined();
    expect(sidecar.tiling).toBeUndefined();
    expect(sidecar.ignored).toBeUndefined();
  });

  it('reads an empty sidecar as no overrides', () => {
    expect(parseSidecar(null)).toEqual({});
    expect(parseSidecar(undefined)).toEqual({});
    expect(parseSidecar({})).toEqual({});
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
    [{ tiling: 'sometimes' }, 'm.json: "tiling" must be auto, always or never'],
    [{ tileOverlap: 0.95 }, 'm.json: "tileOverlap" must be a number from 0 to 0.9'],
    [{ tileOverlap: '0.2' }, 'm.json: "tileOverlap" must be a number from 0 to 0.9'],
    [{ wholeImagePass: 1 }, 'm.json: "wholeImagePass" must be true or false'],
    [{ pixelSize: -1, unit: 'nm' }, 'm sidecar: "pixelSize" must be a positive number'],
    [
      { pixelSize: 2.5 },
      'm sidecar: "unit" must be a length unit such as "nm" or "µm" when a pixel size is given',
    ],
    [{ cropBottom: 1.5 }, 'm sidecar: "cropBottom" must be a whole number of rows, 0 or more'],
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
      sidecar: { confidence: 0.3, names: ['pore', 'crack'], ignored: ['calibration'] },
    });
  });

  it('reads <model>.yaml, names as an {id: name} map', async () => {
    const file = path.join(dir, 'particles.yaml');
    await fs.writeFile(file, 'iou: 0.5\nnames:\n  0: pore\n  1: crack\nclasses: [crack]\nenabled: false\n');
    expect(await readSidecar(model)).toEqual({
      file,
      sidecar: { iou: 0.5, names: ['pore', 'crack'], classes: ['crack'], enabled: false },
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
    expect((await readSidecar(model))?.sidecar).toEqual({});
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
      new SidecarError(`${yaml}: "confidence" must be a number from 0 to 1`, yaml, 1),
    );
  });

  it('gives the line and column where the JSON or YAML parser stopped', async () => {
    const json = path.join(dir, 'particles.json');
    await fs.writeFile(json, '{\n  "confidence": 0.3\n  "iou": 0.5\n}\n');
    const error = await readSidecar(model).catch((err: SidecarError) => err);
    expect(error).toBeInstanceOf(SidecarError);
    expect(error).toMatchObject({ file: json, line: 3 });
    expect((error as SidecarError).summary).toMatch(
      new RegExp(`^sidecar ${json} is not valid JSON: line 3, column 3: \\S`),
    );
    await fs.rm(json);
    const yaml = path.join(dir, 'particles.yaml');
    await fs.writeFile(yaml, 'iou: 0.5\nnames: [pore, crack\nconfidence: 0.3\n');
    await expect(readSidecar(model)).rejects.toMatchObject({ file: yaml, line: 3 });
  });

  it('names the line of a bad value in the summary', async () => {
    const yaml = path.join(dir, 'particles.yaml');
    await fs.writeFile(yaml, '# thresholds\niou: 0.5\nmaxDetections: lots\n');
    const error = (await readSidecar(model).catch((err) => err)) as SidecarError;
    expect(error.summary).toBe(`${yaml}: "maxDetections" must be a positive whole number (line 3)`);
  });

  it('takes no sidecar that is a symbolic link', async () => {
    const elsewhere = path.join(dir, 'elsewhere');
    await fs.mkdir(elsewhere);
    await fs.writeFile(path.join(elsewhere, 'x.yaml'), 'confidence: 0.9\n');
    const link = path.join(dir, 'particles.yaml');
    await fs.symlink(path.join(elsewhere, 'x.yaml'), link);
    await expect(readSidecar(model)).rejects.toThrow(
      new SidecarError(`sidecar ${link} is a symbolic link: not taken`, link),
    );
  });
});
