/**
 * @scopehive/shared/hive: the hive on JetStream (image and model stores, results, the node
 * registry). Its own entry, apart from @scopehive/shared, because it loads the NATS client (about
 * 0.1 s), which a process without NATS (the CLI, `npm start` without NATS_URL) never needs. Named
 * exports only, as in the root entry.
 */

export { type ImageOrigin, ImageStore } from './image-store.ts';
export {
  MODEL_BUCKET,
  ModelStore,
  type ModelStoreOptions,
  type ServedModel,
  type ServedSidecar,
} from './model-store.ts';
export type { NodeEntry, NodeModel, NodeRole, NodeStatus } from './node-entry.ts';
export { listNodes, NodeHeartbeat, type NodeRegistry, openNodeRegistry, watchNodes } from './nodes.ts';
export { FileChangedError, isObjectMissing } from './object-errors.ts';
export { type HiveReplicas, hiveReplicas } from './replicas.ts';
export type { HiveRejection, HiveResult } from './result-message.ts';
export {
  consumeResults,
  ensureResultsStream,
  publishRejection,
  publishResult,
  RESULTS_STREAM,
  type ResultsConsumer,
  resultsSubject,
} from './results.ts';
export { untilAnswered } from './until-answered.ts';
