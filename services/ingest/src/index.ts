/** @scopehive/ingest: the inbox watcher, for `npm start` to compose with inference in one process. */

export { composeIngest } from './compose.ts';
export { Ingest, type ModelSource } from './ingest.ts';
