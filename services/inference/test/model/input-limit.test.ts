import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256 } from '@scopehive/shared';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { checkInputSize, loadModel, MAX_MODEL_INPUT_PIXELS } from '../../src/model/loader.ts';

const sharedDir =
  process.env.SCOPEHIVE_SHARED_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared');
const defaults = { confidence: 0.25, iou: 0.45, maxDetections: 300 };

/**
 * yolov8n-uint8 with its declared input changed from 1×3×640×640 to 1×3×4096×4096: the graph
 * input's two 640 dims are the only place that byte sequence occurs, and 4096 is a varint of the
 * same length, so the file stays valid protobuf.
 */
function hugeInputModel(): Uint8Array {
  const bytes = new Uint8Array(readFileSync(path.join(sharedDir, 'models', 'yolov8n-uint8.onnx')));
  const dims640 = Buffer.from('0a0208010a0208030a030880050a03088005', 'hex');
  const at = Buffer.from(bytes).indexOf(dims640);
  if (at < 0 || Buffer.from(bytes).indexOf(dims640, at + 1) >= 0)
    throw new Error('the input dims are not where expected');
  // 640 = varint 80 05; 4096 = varint 80 20.
  bytes[at + 12] = 0x20;
  bytes[at + 17] = 0x20;
  return bytes;
}

describe('model input size limit', () => {
  it('is 2048 × 2048 pixels', () => {
    expect(MAX_MODEL_INPUT_PIXELS).toBe(2048 * 2048);
    expect(() => checkInputSize('m', [2048, 2048])).not.toThrow();
    expect(() => checkInputSize('m', [640, 640])).not.toThrow();
    expect(() => checkInputSize('m', [2048, 2049])).toThrow(
      /^model m takes 2048×2049 pixels, above the limit of 2048×2048/,
    );
  });

  it('refuses a real model that declares a 4096 × 4096 input at load, with one line naming it and the limit', async () => {
    const bytes = hugeInputModel();
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
    const loading = loadModel({
      name: 'huge',
      file: 'huge.onnx',
      bytes,
      sha256: sha256(bytes),
      providers: ['cpu'],
      threads: 1,
      sessions: 4,
      defaults,
      logger,
    });
    await expect(loading).rejects.toThrow(
      /^model huge takes 4096×4096 pixels, above the limit of 2048×2048 \(4194304 pixels\); export it with a smaller imgsz/,
    );
  });
});
