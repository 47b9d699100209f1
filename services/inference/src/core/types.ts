/** Box corners in pixels: x1, y1, x2, y2. */
export type Box = [number, number, number, number];

export interface Detection {
  classId: number;
  className: string;
  score: number;
  box: Box;
}

/**
 * How a detector lays out its output tensor: `yolov5` [B, N, 5+C] with objectness, `yolov8` [B, 4+C, N]
 * (also YOLO11), `yolov10-e2e` [B, K, 6] already suppressed.
 */
export type OutputLayout = 'yolov5' | 'yolov8' | 'yolov10-e2e';
