import type { OutputLayoutModule } from './layout-module.ts';
import { yolov5 } from './yolov5.ts';
import { yolov8 } from './yolov8.ts';
import { yolov8Seg } from './yolov8-seg.ts';
import { yolov10EndToEnd } from './yolov10-e2e.ts';

/**
 * Every output layout, in order of precedence: a model's outputs are read by the first that matches.
 * End-to-end comes first because a [b, K, 6] output would otherwise read as a 1-class YOLOv5.
 * A new layout or task is one module and one line here.
 */
export const OUTPUT_LAYOUTS = [yolov10EndToEnd, yolov8, yolov5, yolov8Seg] as const;

/** The name of a layout in OUTPUT_LAYOUTS. */
export type OutputLayout = (typeof OUTPUT_LAYOUTS)[number]['name'];

const byName = new Map<string, OutputLayoutModule>(OUTPUT_LAYOUTS.map((m) => [m.name, m]));

export function outputLayoutModule(name: OutputLayout): OutputLayoutModule {
  const found = byName.get(name);
  if (!found) throw new Error(`unknown output layout "${name}"`);
  return found;
}
