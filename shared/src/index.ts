/**
 * @scopehive/shared: the project's own library. Named exports only: what a service may use is listed
 * here, by concern. The hive's are listed in hive/index.ts, the entry @scopehive/shared/hive: they
 * load the NATS client, which nothing that imports this entry should pay for (the CLI).
 */

export type { JetStreamClient } from '@nats-io/jetstream';
export { BoundedChannel } from './channel.ts';
export { type ControlConfig, control } from './config/control.ts';
export { type EffectiveSetting, effectiveSettings, hiddenVariableCount } from './config/effective.ts';
export { ConfigError, StartupError } from './config/errors.ts';
export { exitOnStartupError, startupProblem } from './config/exit.ts';
export { definedVariables, loadConfig, unknownSettings } from './config/load.ts';
export { looksSecret, MASK, maskedValue } from './config/secret-names.ts';
export {
  type AnalysisTableConfig,
  type Config,
  parseSizeUnit,
  type SectionConfig,
  type SectionName,
  type SizeUnit,
  sections,
} from './config/sections.ts';
export { settingsTable, withSettingsTable } from './config/table.ts';
export type {
  AnalysisConfig,
  DeviceConfig,
  FetchConfig,
  HiveConfig,
  HiveRole,
  HttpConfig,
  LogLevel,
  NodeConfig,
  PathsConfig,
  QueueConfig,
  RuntimeConfig,
  WatchConfig,
} from './config/types.ts';
export { DataVolumeCheck } from './fs/data-volume.ts';
export { exists, sha256, sha256File, writeFileAtomic } from './fs/files.ts';
export { isNetworkFileSystem, shouldPoll } from './fs/mounts.ts';
export { insideFolder, isOutsideFolder, OutsideFolderError } from './fs/safe-path.ts';
export {
  type CompleteBy,
  isHiddenOrPartial,
  StableFiles,
  type StableFilesOptions,
} from './fs/stable-files.ts';
export { type Readiness, startHttpServer } from './http/server.ts';
export {
  formatForExtension,
  IMAGE_EXTENSIONS,
  IMAGE_FORMATS,
  type ImageFormatEntry,
  type ImageFormatInfo,
  type ImageFormatName,
  isImageFile,
  sniffFormat,
  supportedFormatsText,
} from './images.ts';
export { type Job, type JobSpec, makeJob, parseJob, toInboxRelative } from './job.ts';
export { createLogger, type Logger } from './log.ts';
export { linksRefusedCounter } from './metrics/links.ts';
export { collectProcessMetrics } from './metrics/process.ts';
export { SlidingRate } from './metrics/rate.ts';
export {
  type CatalogModel,
  ModelCatalog,
  type ModelCatalogOptions,
  type ModelSource,
  startModelCatalog,
} from './model-catalog.ts';
export { isModelEnabled, type ModelRef, modelNameFromFile } from './model-name.ts';
export { EmbeddedQueue, type EmbeddedQueueOptions } from './queue/embedded.ts';
export { jobLogFields } from './queue/exhausted.ts';
export { type OpenedQueue, openQueue } from './queue/open.ts';
export type { ConsumeOptions, JobDelivery, JobQueue } from './queue/types.ts';
export { withoutCredentials, withoutSecrets } from './redact.ts';
export {
  LATEST_IMAGE_POINTER,
  type LatestImagePointer,
  recordLatestImage,
} from './result/latest-image.ts';
export { type ResultIdentity, ResultLedger } from './result/ledger.ts';
export { rejectedPaths, resultPaths } from './result/paths.ts';
export {
  RESULT_SCHEMA,
  type ResultDetection,
  type ResultDocument,
  type ResultSizeStats,
  type ResultSummary,
  type ResultTotals,
} from './result/schema.ts';
export {
  keepRunning,
  type RunningService,
  runMain,
  type ServiceContext,
  type ServiceSpec,
  startService,
} from './service.ts';
