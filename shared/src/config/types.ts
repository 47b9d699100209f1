/** What each section gives a service, in the operator's words (`paths.inbox`, `queue.natsUrl`, `http.port`). */

/** Folders, all absolute; inbox, models, results and rejected default to folders under `data`. */
export interface PathsConfig {
  data: string;
  inbox: string;
  models: string;
  results: string;
  rejected: string;
}

export interface WatchConfig {
  stableMs: number;
  polling: 'auto' | 'true' | 'false';
  pollIntervalMs: number;
}

export interface AnalysisConfig {
  models: string[];
  confidence: number;
  iou: number;
  maxDetections: number;
  maxPixels: number;
  tiling: 'auto' | 'always' | 'never';
  tileOverlap: number;
  wholeImagePass: boolean;
  stretchLow: number;
  stretchHigh: number;
  annotate: boolean;
}

export interface RuntimeConfig {
  threads: number;
  sessions: number;
  providers: string[];
  /** SCOPEHIVE_GPU_DEVICES as set, e.g. `0,1` (services/inference/src/model/providers.ts parses it). */
  gpuDevices: string;
  /** SCOPEHIVE_UPDATE_LOCK as set (services/inference/src/pipeline/update-lock.ts resolves the default). */
  updateLock?: string;
}

export interface QueueConfig {
  /** Unset: the embedded queue. */
  natsUrl: string | undefined;
  capacity: number;
  maxDeliver: number;
  ackWaitMs: number;
}

export interface HttpConfig {
  host: string;
  port: number;
  rateWindowS: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface NodeConfig {
  /** SCOPEHIVE_NODE_NAME, else BALENA_DEVICE_UUID, else the host name. */
  name: string;
  logLevel: LogLevel;
}

export interface DeviceConfig {
  procRoot: string;
  sysRoot: string;
}

export interface FetchConfig {
  modelUrl: string;
  modelSha256: string | undefined;
}

export type HiveRole = 'microscope' | 'worker' | 'both';

export interface HiveConfig {
  /** SCOPEHIVE_HIVE: image bytes and results travel through NATS JetStream between nodes. */
  enabled: boolean;
  role: HiveRole;
}
