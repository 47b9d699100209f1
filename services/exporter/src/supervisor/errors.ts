/**
 * The three ways a supervisor call ends badly. Every message is one line and never holds the API
 * key: callers may show it in a log, an HTTP answer or a page as it is.
 */

/** No `BALENA_SUPERVISOR_ADDRESS`: not on balena, or the service lacks the supervisor-api label. */
export class SupervisorUnavailable extends Error {
  override name = 'SupervisorUnavailable';
  constructor(message = 'device management needs balena (no supervisor address)') {
    super(message);
  }
}

/** The supervisor answered 423: an update lock is held and the call was not forced. */
export class SupervisorLocked extends Error {
  override name = 'SupervisorLocked';
}

/**
 * The supervisor could not be reached in time, refused the key (401), did not know a service
 * (404), failed (5xx) or answered something that is not its documented JSON.
 */
export class SupervisorFailed extends Error {
  override name = 'SupervisorFailed';
  readonly status?: number;
  constructor(message: string, status?: number) {
    super(message);
    if (status !== undefined) this.status = status;
  }
}
