/**
 * Every scopehive setting, in the sections a service asks for. The README's settings table is
 * generated from these definitions (scripts/settings-table.ts) and a test keeps the two in step.
 * Over 300 lines on purpose: it is the one list of settings, one short entry each.
 */
import os from 'node:os';
import path from 'node:path';
import { control } from './control.ts';
import { type Setting, section, setting } from './define.ts';
import type {
  AnalysisConfig,
  DeviceConfig,
  FetchConfig,
  HiveConfig,
  HttpConfig,
  NodeConfig,
  PathsConfig,
  QueueConfig,
  RuntimeConfig,
  WatchConfig,
} from './types.ts';

/** Table and summary settings of the analysis section (to join AnalysisConfig in types.ts). */
export interface AnalysisTableConfig {
  sizeUnit: SizeUnit;
  csvBom: boolean;
  edgeFeatures: 'exclude' | 'include';
}

export type SizeUnit = 'auto' | 'nm' | 'µm' | 'mm';

/** A size unit as people type it (`um`, `μm` with a Greek mu, `micron`), in the one spelling tables use. */
export function parseSizeUnit(raw: string): SizeUnit {
  const text = raw
    .trim()
    .toLowerCase()
    .replace(/\u03bc/g, '\u00b5');
  if (text === 'auto' || text === 'nm' || text === 'mm' || text === '\u00b5m') return text;
  if (text === 'um' || text === 'micron' || text === 'microns') return '\u00b5m';
  throw new Error('expected nm, µm (or um), mm or auto');
}

const paths = section({
  title: 'Folders',
  settings: {
    data: setting.string(
      'SCOPEHIVE_DATA_DIR',
      'Root folder holding inbox, models, results and rejected.',
      './data',
    ),
    inbox: setting.optionalString(
      'SCOPEHIVE_INBOX_DIR',
      'Folder watched for images (default `<data>/inbox`).',
    ),
    models: setting.optionalString(
      'SCOPEHIVE_MODELS_DIR',
      'Folder of `.onnx` models (default `<data>/models`).',
    ),
    results: setting.optionalString(
      'SCOPEHIVE_RESULTS_DIR',
      'Folder results are written to (default `<data>/results`).',
    ),
    rejected: setting.optionalString(
      'SCOPEHIVE_REJECTED_DIR',
      'Folder unreadable files are moved to, with a `.reason.txt` (default `<data>/rejected`).',
    ),
  },
  resolve: (v): PathsConfig => {
    const data = path.resolve(v.data);
    return {
      data,
      inbox: path.resolve(v.inbox ?? path.join(data, 'inbox')),
      models: path.resolve(v.models ?? path.join(data, 'models')),
      results: path.resolve(v.results ?? path.join(data, 'results')),
      rejected: path.resolve(v.rejected ?? path.join(data, 'rejected')),
    };
  },
});

const watch = section({
  title: 'Watching the inbox',
  settings: {
    stableMs: setting.int(
      'SCOPEHIVE_STABLE_MS',
      'A file is taken once its size and mtime have not changed for this long (ms).',
      1500,
      0,
      3_600_000,
    ),
    polling: setting.oneOf(
      'SCOPEHIVE_POLLING',
      'Watch by polling: `auto` (on for NFS/SMB mounts), `true` or `false`.',
      'auto',
      ['auto', 'true', 'false'] as const,
    ),
    pollIntervalMs: setting.int(
      'SCOPEHIVE_POLL_INTERVAL_MS',
      'Polling interval when polling is on (ms).',
      1000,
      50,
      600_000,
    ),
  },
  resolve: (v): WatchConfig => v,
});

const analysis = section({
  title: 'Analysis',
  settings: {
    models: setting.list(
      'SCOPEHIVE_MODELS',
      'Models to run on every image: `all`, or a comma list of model names.',
      'all',
    ),
    confidence: setting.number(
      'SCOPEHIVE_CONFIDENCE',
      'Minimum detection score kept (a sidecar may override).',
      0.25,
      0,
      1,
    ),
    iou: setting.number(
      'SCOPEHIVE_IOU',
      'IoU above which NMS drops the weaker box of the same class.',
      0.45,
      0,
      1,
    ),
    maxDetections: setting.int(
      'SCOPEHIVE_MAX_DETECTIONS',
      'Most detections kept per image and model.',
      300,
      1,
      100_000,
    ),
    maxPixels: setting.int(
      'SCOPEHIVE_MAX_PIXELS',
      'Largest image accepted, in pixels (width × height); larger files are rejected as possible decompression bombs.',
      100_000_000,
      1,
      2_000_000_000,
    ),
    tiling: setting.oneOf(
      'SCOPEHIVE_TILING',
      'Tiled analysis of large images: `auto` (when the image is over 1.5× the model input), `always` or `never`.',
      'auto',
      ['auto', 'always', 'never'] as const,
    ),
    tileOverlap: setting.number(
      'SCOPEHIVE_TILE_OVERLAP',
      'Fraction of a tile shared with its neighbours.',
      0.2,
      0,
      0.9,
    ),
    wholeImagePass: setting.bool(
      'SCOPEHIVE_WHOLE_IMAGE_PASS',
      'With tiling, also run one pass over the whole image (for objects larger than a tile overlap).',
      false,
    ),
    stretchLow: setting.number(
      'SCOPEHIVE_STRETCH_LOW',
      'Percentile mapped to black when 16-bit, 32-bit or float images are scaled to 8 bits.',
      0.1,
      0,
      100,
    ),
    stretchHigh: setting.number(
      'SCOPEHIVE_STRETCH_HIGH',
      'Percentile mapped to white when 16-bit, 32-bit or float images are scaled to 8 bits.',
      99.9,
      0,
      100,
    ),
    annotate: setting.bool('SCOPEHIVE_ANNOTATE', 'Write an annotated JPEG next to each result.', true),
    sizeUnit: {
      env: 'SCOPEHIVE_SIZE_UNIT',
      doc: 'Unit of new results tables (`nm`, `µm`, `mm`; `um` is read as `µm`), fixed when a table is created and named in its header; `auto`: suited to the first calibrated image. A folder\'s `scopehive.json` `"sizeUnit"` decides over it; an existing table keeps its unit.',
      default: 'auto',
      parse: parseSizeUnit,
    } satisfies Setting<SizeUnit>,
    csvBom: setting.bool(
      'SCOPEHIVE_CSV_BOM',
      'Begin new results tables with a UTF-8 byte-order mark, so Excel on Windows shows µ and ² right.',
      false,
    ),
    edgeFeatures: setting.oneOf(
      'SCOPEHIVE_EDGE_FEATURES',
      'Features touching the image edge in size statistics: `exclude` (ImageJ\'s "exclude on edges"; they are still counted) or `include`. A folder\'s `"edgeFeatures"` decides over it.',
      'exclude',
      ['exclude', 'include'] as const,
    ),
  },
  check: (v) =>
    v.stretchLow >= v.stretchHigh
      ? [`SCOPEHIVE_STRETCH_LOW=${v.stretchLow} must be below SCOPEHIVE_STRETCH_HIGH=${v.stretchHigh}`]
      : [],
  resolve: (v): AnalysisConfig & AnalysisTableConfig => v,
});

const runtime = section({
  title: 'ONNX Runtime',
  settings: {
    threads: setting.int(
      'SCOPEHIVE_THREADS',
      'ONNX Runtime intra-op threads per session; 0: one when several sessions share the CPU, else one per core.',
      0,
      0,
      256,
    ),
    sessions: setting.int(
      'SCOPEHIVE_SESSIONS',
      'ONNX Runtime sessions per model, each working on its own image; 0: one per CPU core on the CPU provider, one on a GPU.',
      0,
      0,
      64,
    ),
    providers: setting.list(
      'SCOPEHIVE_PROVIDERS',
      'Execution providers to try in order (`tensorrt`, `cuda`, `cpu`); the first that loads is used. `auto`: all three when an NVIDIA GPU device exists, else `cpu`.',
      'auto',
    ),
    gpuDevices: setting.string(
      'SCOPEHIVE_GPU_DEVICES',
      'GPU indices to use, one ONNX Runtime session each (multi-GPU workers), e.g. `0,1`.',
      '0',
    ),
    updateLock: setting.optionalString(
      'SCOPEHIVE_UPDATE_LOCK',
      "Inference: balena's update lock file, held while jobs are in flight (default `/tmp/balena/updates.lock` on balena, else off; `off`: never).",
    ),
  },
  resolve: (v): RuntimeConfig => v,
});

const queue = section({
  title: 'Job queue',
  settings: {
    natsUrl: setting.optionalString(
      'NATS_URL',
      'NATS server(s) with JetStream; unset means the embedded queue.',
    ),
    capacity: setting.int(
      'SCOPEHIVE_QUEUE_CAPACITY',
      'Most jobs waiting in the embedded queue; ingest waits when it is full.',
      256,
      1,
      1_000_000,
    ),
    maxDeliver: setting.int(
      'SCOPEHIVE_MAX_DELIVER',
      'Attempts per job before it is rejected with its last error.',
      3,
      1,
      100,
    ),
    ackWaitMs: setting.int(
      'SCOPEHIVE_ACK_WAIT_MS',
      'A job not acknowledged within this time is delivered again (ms).',
      120_000,
      1000,
      3_600_000,
    ),
  },
  resolve: (v): QueueConfig => v,
});

const http = section({
  title: 'Metrics and health server',
  settings: {
    host: setting.string('SCOPEHIVE_HOST', 'Address the metrics/health server binds to.', '127.0.0.1'),
    port: setting.int('SCOPEHIVE_PORT', 'Port of `/metrics`, `/healthz` and `/readyz`.', 9464, 0, 65535),
    rateWindowS: setting.int(
      'SCOPEHIVE_RATE_WINDOW_S',
      'Sliding window of the model frame-rate gauge (s).',
      30,
      1,
      3600,
    ),
  },
  resolve: (v): HttpConfig => v,
});

const node = section({
  title: 'This node',
  settings: {
    name: setting.optionalString(
      'SCOPEHIVE_NODE_NAME',
      'Name of this node in results and metrics (default `BALENA_DEVICE_UUID`, else the host name).',
    ),
    balenaDeviceUuid: setting.optionalString('BALENA_DEVICE_UUID', 'Set by balena; names the node.'),
    logLevel: setting.oneOf('SCOPEHIVE_LOG_LEVEL', 'pino log level.', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ] as const),
  },
  resolve: (v): NodeConfig => ({ name: v.name ?? v.balenaDeviceUuid ?? os.hostname(), logLevel: v.logLevel }),
});

const device = section({
  title: 'Device metrics (exporter)',
  settings: {
    procRoot: setting.string(
      'SCOPEHIVE_PROC_ROOT',
      "Exporter: where the host's proc file system is mounted.",
      '/proc',
    ),
    sysRoot: setting.string(
      'SCOPEHIVE_SYS_ROOT',
      "Exporter: where the host's sysfs is mounted (thermal zones).",
      '/sys',
    ),
  },
  resolve: (v): DeviceConfig => v,
});

const hive = section({
  title: 'Hive',
  settings: {
    enabled: setting.bool(
      'SCOPEHIVE_HIVE',
      'Hive mode: image bytes and results travel between nodes through NATS JetStream (needs `NATS_URL`).',
      false,
    ),
    role: setting.oneOf(
      'SCOPEHIVE_ROLE',
      'What this node does in the hive: `microscope` (inbox, ingest, result writer), `worker` (inference only) or `both`.',
      'both',
      ['microscope', 'worker', 'both'] as const,
    ),
  },
  // The hive's parts live in JetStream: without a server there is nothing to share work through.
  check: (v, env) => (v.enabled && !env.NATS_URL?.trim() ? ['SCOPEHIVE_HIVE=true needs NATS_URL'] : []),
  resolve: (v): HiveConfig => v,
});

const fetch = section({
  title: 'Downloading the default model',
  settings: {
    modelUrl: setting.string(
      'SCOPEHIVE_MODEL_URL',
      '`npm run fetch-model`: where the default model is downloaded from.',
      'https://github.com/ultralytics/assets/releases/download/v8.2.0/yolov8n.onnx',
    ),
    modelSha256: setting.optionalString(
      'SCOPEHIVE_MODEL_SHA256',
      '`npm run fetch-model`: expected SHA-256 of the download; a mismatch discards it.',
    ),
  },
  resolve: (v): FetchConfig => v,
});

/** Every section, in the README's order. */
export const sections = { paths, watch, analysis, runtime, queue, http, node, device, control, hive, fetch };

export type SectionName = keyof typeof sections;
export type SectionConfig<N extends SectionName> = ReturnType<(typeof sections)[N]['resolve']>;
/** What `loadConfig` returns for the sections `N`: `{ paths: PathsConfig, queue: QueueConfig, ... }`. */
export type Config<N extends SectionName = SectionName> = { [K in N]: SectionConfig<K> };
