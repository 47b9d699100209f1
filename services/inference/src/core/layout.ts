import { detectionShape, knownClassCount } from './layouts/detection.ts';
import type { LayoutMatch, LayoutMetadata, OutputShape } from './layouts/layout-module.ts';
import { OUTPUT_LAYOUTS, type OutputLayout } from './layouts/registry.ts';

/** How a model's outputs are read: the layout's name and what it read from the shapes. */
export interface OutputShapeInfo extends LayoutMatch {
  layout: OutputLayout;
}

function formatDims(dims: readonly (number | string)[]): string {
  return `[${dims.join(', ')}]`;
}

/** "A", "A or B", "A, B or C". */
function oneOf(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/**
 * The layouts serving an Ultralytics task (a model without one is a detector), in order of precedence;
 * throws when there are none, so a model of another task fails before its sessions open.
 */
export function layoutsForTask(task = 'detect'): Array<(typeof OUTPUT_LAYOUTS)[number]> {
  const serving = OUTPUT_LAYOUTS.filter((m) => m.task === task);
  if (serving.length === 0) {
    const tasks = [...new Set(OUTPUT_LAYOUTS.map((m) => m.task))];
    throw new Error(`task "${task}" is not supported (supported: ${tasks.join(', ')})`);
  }
  return serving;
}

/**
 * The layout of a model's outputs: the first in OUTPUT_LAYOUTS serving the metadata's task (a model
 * without one is a detector) that reads the shapes. Metadata class names disambiguate shapes that
 * two layouts could read; `end2end` tells a single-class YOLOv5 [b, N, 6] from an end-to-end output.
 * Only the batch dimension may be dynamic (-1 or a name). Throws one line saying what was expected.
 */
export function detectLayout(outputs: readonly OutputShape[], metadata: LayoutMetadata): OutputShapeInfo {
  const serving = layoutsForTask(metadata.task);
  for (const layout of serving) {
    const match = layout.match(outputs, metadata);
    if (match) return { layout: layout.name, ...match };
  }
  const dims = outputs[0]?.dims ?? [];
  const shape = formatDims(dims);
  if (dims.length !== 3) {
    throw new Error(`unsupported detection output ${shape}: expected 3 dimensions [batch, rows, columns]`);
  }
  if (!detectionShape(outputs)) {
    throw new Error(`unsupported detection output ${shape}: only the batch dimension may be dynamic`);
  }
  const classes = knownClassCount(metadata);
  // Layouts whose shape the class count fixes say what they would need; the others fit any count.
  const byClassCount = serving.flatMap((m) => (m.expectedFor && classes ? [m.expectedFor(classes)] : []));
  if (byClassCount.length > 0) {
    const fits =
      byClassCount.length === 2 ? `neither ${byClassCount.join(' nor ')}` : `none of ${oneOf(byClassCount)}`;
    throw new Error(
      `detection output ${shape} fits ${fits} for the ${classes} class names in the model metadata`,
    );
  }
  throw new Error(`unknown detection output ${shape}: expected ${oneOf(serving.map((m) => m.expected))}`);
}
