import type {
  ApplicationsState,
  AppService,
  AppState,
  ContainerStatus,
  ImageStatus,
  StateStatus,
  SupervisorDevice,
} from './types.ts';

/**
 * The supervisor's JSON answers into typed values. The docs warn that "some [fields] may be missing
 * or null if they haven't been set yet" and that attributes are added over versions, so only the
 * frame (an object, its arrays) is required; a missing field becomes null, never a guess.
 */

/** The answer is not the documented shape; the message names what is wrong, in one line. */
export class UnexpectedAnswer extends Error {}

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UnexpectedAnswer(`${what} is not a JSON object`);
  }
  return value as Json;
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new UnexpectedAnswer(`${what} is not a list`);
  return value;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** balena-sdk types `download_progress` as a string: accept numbers written either way. */
function number(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return null;
}

/** GET /v1/device; the identity fields come from the environment and /v2/device/name. */
export function parseDevice(
  body: unknown,
  identity: { name: string; uuid: string | null; deviceType: string | null },
): SupervisorDevice {
  const d = object(body, 'GET /v1/device');
  return {
    ...identity,
    osVersion: text(d.os_version),
    supervisorVersion: text(d.supervisor_version),
    ipAddresses: (text(d.ip_address) ?? '').split(/\s+/).filter((ip) => ip !== ''),
    status: text(d.status),
    commit: text(d.commit),
    updatePending: d.update_pending === true,
    updateDownloaded: d.update_downloaded === true,
    updateFailed: d.update_failed === true,
    downloadProgress: number(d.download_progress),
  };
}

/** GET /v2/device/name: `{ status, deviceName }`. */
export function parseDeviceName(body: unknown): string | null {
  return text(object(body, 'GET /v2/device/name').deviceName);
}

function container(value: unknown): ContainerStatus {
  const c = object(value, 'a container of GET /v2/state/status');
  const serviceName = text(c.serviceName);
  if (serviceName === null)
    throw new UnexpectedAnswer('a container of GET /v2/state/status has no serviceName');
  return {
    serviceName,
    status: text(c.status) ?? 'unknown',
    appId: number(c.appId),
    imageId: number(c.imageId),
    serviceId: number(c.serviceId),
    containerId: text(c.containerId),
    createdAt: text(c.createdAt),
  };
}

function image(value: unknown): ImageStatus {
  const i = object(value, 'an image of GET /v2/state/status');
  const serviceName = text(i.serviceName);
  if (serviceName === null) throw new UnexpectedAnswer('an image of GET /v2/state/status has no serviceName');
  return {
    serviceName,
    status: text(i.status) ?? 'unknown',
    downloadProgress: number(i.downloadProgress),
    name: text(i.name),
    appId: number(i.appId),
    imageId: number(i.imageId),
  };
}

/** GET /v2/state/status. */
export function parseStateStatus(body: unknown): StateStatus {
  const s = object(body, 'GET /v2/state/status');
  const appState = text(s.appState);
  if (appState === null) throw new UnexpectedAnswer('GET /v2/state/status has no appState');
  return {
    appState,
    overallDownloadProgress: number(s.overallDownloadProgress),
    containers: array(s.containers ?? [], 'containers of GET /v2/state/status').map(container),
    images: array(s.images ?? [], 'images of GET /v2/state/status').map(image),
    release: text(s.release),
  };
}

function appService(name: string, value: unknown): AppService {
  const s = object(value, `service ${name} of GET /v2/applications/state`);
  return {
    name,
    status: text(s.status) ?? 'unknown',
    image: text(s.image),
    releaseId: number(s.releaseId),
    // The single-app variant of the endpoint spells it download_progress.
    downloadProgress: number(s.downloadProgress ?? s.download_progress),
  };
}

/** GET /v2/applications/state: `{ <app name>: { appId, commit, services: { <name>: {…} } } }`. */
export function parseApplications(body: unknown): ApplicationsState {
  const apps: AppState[] = [];
  for (const [name, value] of Object.entries(object(body, 'GET /v2/applications/state'))) {
    const a = object(value, `app ${name} of GET /v2/applications/state`);
    const appId = number(a.appId);
    if (appId === null) throw new UnexpectedAnswer(`app ${name} of GET /v2/applications/state has no appId`);
    const services = object(a.services ?? {}, `services of app ${name}`);
    apps.push({
      name,
      appId,
      appUuid: text(a.appUuid),
      commit: text(a.commit),
      updateStatus: text(a.updateStatus),
      services: Object.entries(services).map(([service, s]) => appService(service, s)),
    });
  }
  return { apps };
}
