import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import {
  AuthorizationError,
  InvalidArgumentError,
  InvalidSubjectError,
  NoRespondersError,
} from '@nats-io/transport-node';

/**
 * JetStream API error codes the client library does not name (its `JetStreamApiCodes` holds only a
 * few). Numbers and meanings are nats-server's `server/errors.json`.
 */
const serverCodes = {
  /** JSStreamNameExistErr: "stream name already in use with a different configuration". */
  streamNameInUse: 10058,
  /** JSConsumerAlreadyExists: a create (nats-server 2.10+) for a consumer that exists with another configuration. */
  consumerAlreadyExists: 10148,
} as const;

/**
 * The HTTP-like status the JetStream API gives a request it refuses as invalid (bad configuration,
 * subjects overlapping another stream, …): sending the same request again cannot succeed.
 */
const badRequestStatus = 400;

/** The queue found something it cannot work with (a stream of the wrong kind); retrying will not help. */
export class QueueSetupError extends Error {
  override name = 'QueueSetupError';
}

/** An error that retrying cannot cure: retry loops give up on it and pass it on. */
export function isPermanent(err: unknown): boolean {
  return (
    err instanceof QueueSetupError ||
    // Also what the client throws for a job over the server's max_payload.
    err instanceof InvalidArgumentError ||
    err instanceof InvalidSubjectError ||
    err instanceof AuthorizationError ||
    (err instanceof JetStreamApiError && err.status === badRequestStatus)
  );
}

/** JSClusterNotAvail: "JetStream system temporarily unavailable" (a cluster without a meta leader). */
const clusterNotAvailable = 10008;

/**
 * A JetStream request nobody answered in time, or answered "not now": the server is busy, still
 * electing, or out of reach for a moment. The same request sent again can succeed.
 */
export function isUnanswered(err: unknown): boolean {
  return causes(err).some(
    (e) =>
      (e instanceof JetStreamApiError && e.code === clusterNotAvailable) ||
      (e instanceof Error && ['TimeoutError', 'NoResponders', 'JetStreamNotEnabled'].includes(e.name)),
  );
}

/** The job stream is not there (never made, deleted, or lost with the server's store). */
export function isStreamMissing(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === JetStreamApiCodes.StreamNotFound;
  // A publish to a subject no stream captures has no responders; the client reports it as
  // "jetstream is not enabled" with the no-responders error as its cause.
  return causes(err).some((e) => e instanceof NoRespondersError);
}

/** `streams.add` found a stream of that name with another configuration. */
export function isStreamNameInUse(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === serverCodes.streamNameInUse;
}

/** `consumers.add` found a consumer of that name with another configuration. */
export function isConsumerAlreadyExists(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === serverCodes.consumerAlreadyExists;
}

/** For log lines: the message alone; these errors are expected conditions, their stacks are noise. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e !== undefined && chain.length < 10; e = e instanceof Error ? e.cause : undefined) {
    chain.push(e);
  }
  return chain;
}
