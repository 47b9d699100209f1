import { describe, expect, it } from 'vitest';
import { detectLayout } from '../../../src/core/layout.ts';
import { OUTPUT_LAYOUTS, outputLayoutModule } from '../../../src/core/layouts/registry.ts';

describe('output layout registry', () => {
  it('lists every layout once, end-to-end before the layouts that would misread [b, K, 6]', () => {
    expect(OUTPUT_LAYOUTS.map((m) => m.name)).toEqual(['yolov10-e2e', 'yolov8', 'yolov5', 'yolov8-seg']);
  });

  it('finds a layout by name and refuses an unknown one', () => {
    expect(outputLayoutModule('yolov8').name).toBe('yolov8');
    expect(() => outputLayoutModule('yolov99' as 'yolov8')).toThrow('unknown output layout "yolov99"');
  });

  it('asks only the layouts serving the model task', () => {
    expect(() => detectLayout([{ name: 'output0', dims: [1, 84, 8400] }], { task: 'pose' })).toThrow(
      new Error('task "pose" is not supported (supported: detect, segment)'),
    );
    expect(detectLayout([{ name: 'output0', dims: [1, 84, 8400] }], { task: 'detect' }).layout).toBe(
      'yolov8',
    );
  });

  it('says which shapes it reads when none fits', () => {
    expect(() => detectLayout([{ name: 'output0', dims: [1, 84, 84] }], {})).toThrow(
      new Error(
        'unknown detection output [1, 84, 84]: expected [b, K, 6] (YOLOv10 end-to-end), ' +
          '[b, 4+C, N] (YOLOv8/11) or [b, N, 5+C] (YOLOv5)',
      ),
    );
    const names = ['a', 'b', 'c'];
    expect(() => detectLayout([{ name: 'output0', dims: [1, 84, 8400] }], { names })).toThrow(
      new Error(
        'detection output [1, 84, 8400] fits neither YOLOv8 [b, 4+3, N] nor YOLOv5 [b, N, 5+3] ' +
          'for the 3 class names in the model metadata',
      ),
    );
  });

  it('reads the first output of a model with several', () => {
    const outputs = [
      { name: 'output0', dims: [1, 84, 8400] },
      { name: 'extra', dims: [1, 32, 160, 160] },
    ];
    expect(detectLayout(outputs, {})).toEqual({ layout: 'yolov8', numClasses: 80, numCandidates: 8400 });
  });
});
