/**
 * What the balena Supervisor API answers, in the project's words (camelCase, typed). Field sources
 * are balena's "Interacting with the balena Supervisor" page (supervisor docs/API.md): GET /v1/device,
 * GET /v2/device/name, GET /v2/state/status, GET /v2/applications/state.
 */

/** This device as the supervisor reports it, plus the identity balena puts in the environment. */
export interface SupervisorDevice {
  /** GET /v2/device/name (the latest name), else `BALENA_DEVICE_NAME_AT_INIT`. */
  name: string;
  /** `BALENA_DEVICE_UUID`: the supervisor API does not report it. */
  uuid: string | null;
  /** `BALENA_DEVICE_TYPE` (e.g. `jetson-agx-orin-devkit`). */
  deviceType: string | null;
  osVersion: string | null;
  supervisorVersion: string | null;
  /** `ip_address` split on spaces. */
  ipAddresses: string[];
  /** "Stopping", "Starting", "Downloading", "Installing", "Idle" … */
  status: string | null;
  /** The release running now. */
  commit: string | null;
  /** True while the supervisor checks for an update, or once it has found one. */
  updatePending: boolean;
  updateDownloaded: boolean;
  /** The last try to apply an update failed (the update lock was held, the network failed …). */
  updateFailed: boolean;
  /** Percent (0–100) of the release downloaded; null when nothing is downloading. */
  downloadProgress: number | null;
}

/** One container of the application (GET /v2/state/status `containers[]`). */
export interface ContainerStatus {
  serviceName: string;
  /** "Running", "Installing", "Installed", "Stopping", "Dead", "exited", "paused", "restarting", "removing". */
  status: string;
  appId: number | null;
  imageId: number | null;
  serviceId: number | null;
  containerId: string | null;
  /** ISO time. */
  createdAt: string | null;
}

/** One image of the application (GET /v2/state/status `images[]`). */
export interface ImageStatus {
  serviceName: string;
  /** "Downloading", "Downloaded", "Deleting". */
  status: string;
  /** Percent (0–100) while downloading, else null. */
  downloadProgress: number | null;
  name: string | null;
  appId: number | null;
  imageId: number | null;
}

/** GET /v2/state/status. */
export interface StateStatus {
  /** "applying" while the supervisor moves towards a new target state, else "applied". */
  appState: string;
  /** Mean percent (0–100) over the images downloading, null when none is. */
  overallDownloadProgress: number | null;
  containers: ContainerStatus[];
  images: ImageStatus[];
  /** Commit of the release. */
  release: string | null;
}

/** One service of an app (GET /v2/applications/state `<app>.services.<name>`). */
export interface AppService {
  name: string;
  /** "Running", "Downloading", "Downloaded", "Installing" … */
  status: string;
  /** Image reference; reported by supervisor 17.7.0 and later. */
  image: string | null;
  releaseId: number | null;
  /** Percent (0–100) while downloading, else null. */
  downloadProgress: number | null;
}

export interface AppState {
  name: string;
  appId: number;
  appUuid: string | null;
  commit: string | null;
  /** balena's update status ("done", "downloading", "applying changes", …); supervisor 17.7.0+. */
  updateStatus: string | null;
  services: AppService[];
}

/** GET /v2/applications/state: the apps on this device (one for scopehive). */
export interface ApplicationsState {
  apps: AppState[];
}

/** POST /v2/journal-logs: `lines` most recent lines, of one service or of the whole device. */
export interface JournalQuery {
  /** A service of the app; absent = the whole journal of the device. */
  service?: string;
  lines: number;
  /** Keep the stream open and go on with new lines until the signal aborts. */
  follow: boolean;
}

export interface SupervisorClient {
  device(): Promise<SupervisorDevice>;
  stateStatus(): Promise<StateStatus>;
  applications(): Promise<ApplicationsState>;
  restartService(serviceName: string): Promise<void>;
  stopService(serviceName: string): Promise<void>;
  startService(serviceName: string): Promise<void>;
  reboot(force: boolean): Promise<void>;
  shutdown(force: boolean): Promise<void>;
  /** Ask the supervisor to check for an update now; `force` overrides update locks. */
  update(force: boolean): Promise<void>;
  /** One journal line per item (journalctl `short-iso`: `<time> <host> <identifier>[pid]: <message>`). */
  journalLogs(q: JournalQuery, signal: AbortSignal): Promise<AsyncIterable<string>>;
}
