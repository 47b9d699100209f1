/** Hand-built detector outputs with known answers, one image per inner array. */

export interface Yolov8Anchor {
  cx: number;
  cy: number;
  w: number;
  h: number;
  scores: number[];
}

/** [B, 4+C, N], channel-major, as YOLOv8/11 emit it. */
export function yolov8Output(images: Yolov8Anchor[][], numClasses: number): Float32Array {
  const n = images[0].length;
  const rows = 4 + numClasses;
  const data = new Float32Array(images.length * rows * n);
  images.forEach((anchors, b) => {
    anchors.forEach((a, i) => {
      const at = (row: number) => b * rows * n + row * n + i;
      data[at(0)] = a.cx;
      data[at(1)] = a.cy;
      data[at(2)] = a.w;
      data[at(3)] = a.h;
      a.scores.forEach((s, c) => {
        data[at(4 + c)] = s;
      });
    });
  });
  return data;
}

/** [B, N, 5+C] rows of cx, cy, w, h, objectness, class probabilities, as YOLOv5 emits them. */
export function yolov5Output(images: number[][][], numClasses: number): Float32Array {
  const cols = 5 + numClasses;
  return Float32Array.from(
    images.flatMap((rows) =>
      rows.flatMap((row) => {
        if (row.length !== cols) throw new Error(`fixture row needs ${cols} values`);
        return row;
      }),
    ),
  );
}
