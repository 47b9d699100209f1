/**
 * A fake balena Supervisor: the one part of device management that cannot run here. A real HTTP
 * server on loopback that follows the supervisor's documented request and response contract:
 * balena's "Interacting with the balena Supervisor" page (the supervisor repository's docs/API.md:
 * GET /ping, /v1/device, /v2/device/name, /v2/state/status, /v2/applications/state, /v2/containerId,
 * /v2/version; POST /v1/reboot, /v1/shutdown, /v1/update, /v2/applications/:appId/{restart,stop,
 * start}-service, /v2/journal-logs), with the status codes and bodies its device API answers:
 * 401 without a valid key (`Authorization: Bearer|ApiKey <key>` or `?apikey=`), 423 Locked for a
 * reboot, shutdown or service action without `force` while an update lock is held, 202
 * `{Data, Error}` for reboot and shutdown, 204 for /v1/update (a locked update does not apply and
 * sets `update_failed`, as the page says), "OK" for service actions, journal lines streamed as
 * journalctl prints them (`short-iso` or `short`; `follow` keeps the stream open; `containerId`
 * matches the line's identifier, as `journalctl -t` does, and container lines carry the
 * container's 12-character id as the journald log driver tags them).
 *
 * One file past 300 lines on purpose: it is one contract, read side by side with balena's page,
 * and the control API's and the plugin's tests import it by this one path.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeService {
  /** Container state ("Running", "exited", "Installing", …); null: no container yet. */
  status: string | null;
  /** "Downloaded" or "Downloading". */
  imageStatus: string;
  /** Percent while the image downloads. */
  downloadProgress: number | null;
  image: string;
}

export interface FakeState {
  deviceName: string;
  /** /v1/device `status`: "Idle", "Downloading", "Installing", … */
  status: string;
  commit: string;
  ipAddresses: string[];
  osVersion: string;
  supervisorVersion: string;
  updatePending: boolean;
  updateDownloaded: boolean;
  updateFailed: boolean;
  downloadProgress: number | null;
  appState: 'applied' | 'applying';
  services: Record<string, FakeService>;
}

/** setState's argument: services merge one by one, each with only the fields given. */
export type FakeStatePatch = Partial<Omit<FakeState, 'services'>> & {
  services?: Record<string, Partial<FakeService>>;
};

export interface FakeSupervisorCall {
  method: string;
  /** Without the query. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** The request carried the right key. */
  authorized: boolean;
  /** The key came as `?apikey=` (allowed by balena, refused by scopehive's rules). */
  keyInQuery: boolean;
}

export interface FakeSupervisorOptions {
  apiKey: string;
  deviceName: string;
  appId?: number;
  appName?: string;
  /** Service names; each starts Running with one log line. Default: scopehive's seven. */
  services?: string[];
}

export interface FakeSupervisor {
  url: string;
  appId: number;
  calls: FakeSupervisorCall[];
  setLocked(locked: boolean): void;
  /** While down, every connection is dropped unanswered and open log streams break. */
  setDown(down: boolean): void;
  setState(patch: FakeStatePatch): void;
  state(): FakeState;
  /** A journal line from a service (its container) or, without one, from a host unit. */
  addLog(service: string | undefined, message: string): void;
  close(): Promise<void>;
}

const SCOPEHIVE_SERVICES = ['nfs', 'nats', 'ingest', 'inference', 'exporter', 'prometheus', 'grafana'];
const LOCKED = 'Updates are locked: the update lock is held by a service';

interface Entry {
  time: Date;
  identifier: string;
  message: string;
}

export async function startFakeSupervisor(options: FakeSupervisorOptions): Promise<FakeSupervisor> {
  const appId = options.appId ?? 1_868_586;
  const appName = options.appName ?? 'scopehive';
  const hex = (bytes: number) => randomBytes(bytes).toString('hex');
  const containerIds = new Map<string, string>();
  const created = new Map<string, string>();
  const state: FakeState = {
    deviceName: options.deviceName,
    status: 'Idle',
    commit: hex(16),
    ipAddresses: ['127.0.0.1'],
    osVersion: 'balenaOS 6.0.13',
    supervisorVersion: '17.0.1',
    updatePending: false,
    updateDownloaded: false,
    updateFailed: false,
    downloadProgress: null,
    appState: 'applied',
    services: {},
  };
  const journal: Entry[] = [];
  const followers = new Set<{ res: http.ServerResponse; identifier?: string; format: string }>();
  const calls: FakeSupervisorCall[] = [];
  let locked = false;
  let down = false;

  const startContainer = (name: string) => {
    containerIds.set(name, hex(32));
    created.set(name, new Date().toISOString());
  };
  const identifierOf = (service: string) => containerIds.get(service)?.slice(0, 12) ?? service;
  const addLog = (service: string | undefined, message: string) => {
    const entry = {
      time: new Date(),
      identifier: service ? identifierOf(service) : 'balena-supervisor',
      message,
    };
    journal.push(entry);
    for (const f of followers)
      if (f.identifier === undefined || f.identifier === entry.identifier) f.res.write(line(entry, f.format));
  };
  for (const name of options.services ?? SCOPEHIVE_SERVICES) {
    state.services[name] = {
      status: 'Running',
      imageStatus: 'Downloaded',
      downloadProgress: null,
      image: `registry2.balena-cloud.com/v2/${hex(16)}@sha256:${hex(32)}`,
    };
    startContainer(name);
    addLog(name, `${name} started`);
  }

  const server = http.createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://supervisor');
      const query = Object.fromEntries(url.searchParams);
      const header = /^(?:ApiKey|Bearer) (\w+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const given = query.apikey ?? header;
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = {};
      try {
        body = raw === '' ? {} : JSON.parse(raw);
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad Request');
        return;
      }
      const call = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query,
        body,
        authorized: given === options.apiKey,
        keyInQuery: query.apikey !== undefined,
      };
      calls.push(call);
      // /ping and /v1/healthy are the only routes without a key (docs: "All endpoints (except /ping)").
      if (url.pathname !== '/ping' && url.pathname !== '/v1/healthy' && !call.authorized) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
        return;
      }
      route(call, url, res);
    });
  });

  const json = (res: http.ServerResponse, status: number, value: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const text = (res: http.ServerResponse, status: number, value: string) =>
    res.writeHead(status, { 'content-type': 'text/plain' }).end(value);
  const truthy = (v: unknown) => v === true || v === 'true' || v === 1 || v === '1' || v === 'on';

  function route(call: FakeSupervisorCall, url: URL, res: http.ServerResponse): http.ServerResponse {
    const body = (call.body ?? {}) as Record<string, unknown>;
    const key = `${call.method} ${call.path}`;
    const action = /^POST \/v2\/applications\/([^/]+)\/(restart|stop|start)-service$/.exec(key);
    if (action) return serviceAction(Number(action[1]), action[2] as 'restart' | 'stop' | 'start', body, res);
    switch (key) {
      case 'GET /ping':
        return text(res, 200, 'OK');
      case 'GET /v1/healthy':
        return res.writeHead(200).end();
      case 'GET /v2/version':
        return json(res, 200, { status: 'success', version: `v${state.supervisorVersion}` });
      case 'GET /v1/device':
        return json(res, 200, {
          api_port: 48484,
          ip_address: state.ipAddresses.join(' '),
          commit: state.commit,
          status: state.status,
          download_progress: state.downloadProgress,
          os_version: state.osVersion,
          supervisor_version: state.supervisorVersion,
          update_pending: state.updatePending,
          update_downloaded: state.updateDownloaded,
          update_failed: state.updateFailed,
        });
      case 'GET /v2/device/name':
        return json(res, 200, { status: 'success', deviceName: state.deviceName });
      case 'GET /v2/state/status':
        return json(res, 200, stateStatus());
      case 'GET /v2/applications/state':
        return json(res, 200, applicationsState());
      case 'GET /v2/containerId': {
        const service = url.searchParams.get('serviceName') ?? url.searchParams.get('service');
        const running = Object.keys(state.services).filter((s) => state.services[s]?.status !== null);
        if (service === null) {
          return json(res, 200, {
            status: 'success',
            services: Object.fromEntries(running.map((s) => [s, containerIds.get(s)])),
          });
        }
        if (!running.includes(service)) {
          return json(res, 503, { status: 'failed', message: 'Could not find service with that name' });
        }
        return json(res, 200, { status: 'success', containerId: containerIds.get(service) });
      }
      case 'POST /v1/reboot':
      case 'POST /v1/shutdown':
        if (locked && !truthy(body.force)) return json(res, 423, { Data: '', Error: LOCKED });
        return json(res, 202, { Data: 'OK', Error: '' });
      case 'POST /v1/update':
        if (locked && !truthy(body.force) && state.updatePending) state.updateFailed = true;
        return res.writeHead(204).end();
      case 'POST /v2/journal-logs':
        return journalLogs(body, res);
      default:
        return text(res, 404, `Cannot ${call.method} ${call.path}`);
    }
  }

  function serviceAction(
    id: number,
    action: 'restart' | 'stop' | 'start',
    body: Record<string, unknown>,
    res: http.ServerResponse,
  ): http.ServerResponse {
    if (!Number.isInteger(id) || id <= 0)
      return json(res, 400, { status: 'failed', message: 'Invalid app id' });
    if (id !== appId)
      return text(res, 404, 'App not found: an app needs to be installed for this endpoint to work.');
    const name = typeof body.serviceName === 'string' ? body.serviceName : undefined;
    if (name === undefined) {
      return text(
        res,
        400,
        'serviceName or imageId parameters were not provided or the app is multi-container.',
      );
    }
    const service = state.services[name];
    if (!service || service.status === null) {
      return text(res, 404, 'Service not found, a container must exist for this endpoint to work');
    }
    if (locked && !truthy(body.force)) return json(res, 423, { status: 'failed', message: LOCKED });
    if (action === 'stop') service.status = 'exited';
    else {
      if (action === 'restart') startContainer(name);
      service.status = 'Running';
    }
    return text(res, 200, 'OK');
  }

  function journalLogs(body: Record<string, unknown>, res: http.ServerResponse): http.ServerResponse {
    const identifier = typeof body.containerId === 'string' ? body.containerId : undefined;
    const format = typeof body.format === 'string' ? body.format : 'short';
    const count =
      Number.isInteger(body.count) && (body.count as number) > 0 ? (body.count as number) : undefined;
    const matching = journal.filter((e) => identifier === undefined || e.identifier === identifier);
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (const e of count === undefined ? matching : matching.slice(-count)) res.write(line(e, format));
    if (!truthy(body.follow)) return res.end();
    const follower = { res, identifier, format };
    followers.add(follower);
    res.on('close', () => followers.delete(follower));
    return res;
  }

  function stateStatus() {
    const names = Object.keys(state.services);
    const progress = names
      .map((n) => state.services[n]?.downloadProgress)
      .filter((p) => typeof p === 'number');
    return {
      status: 'success',
      appState: state.appState,
      overallDownloadProgress: progress.length ? progress.reduce((a, b) => a + b, 0) / progress.length : null,
      containers: names
        .filter((n) => state.services[n]?.status !== null)
        .map((n, i) => ({
          status: state.services[n]?.status,
          serviceName: n,
          appId,
          imageId: 959_262 + i,
          serviceId: 29_396 + i,
          containerId: containerIds.get(n),
          createdAt: created.get(n),
        })),
      images: names.map((n, i) => ({
        name: state.services[n]?.image,
        appId,
        serviceName: n,
        imageId: 959_262 + i,
        dockerImageId: `sha256:${hex(32)}`,
        status: state.services[n]?.imageStatus,
        downloadProgress: state.services[n]?.downloadProgress ?? null,
      })),
      release: state.commit,
    };
  }

  function applicationsState() {
    const services = Object.fromEntries(
      Object.entries(state.services).map(([n, s], i) => [
        n,
        {
          status: s.status ?? s.imageStatus,
          image: s.image,
          releaseId: 557_617 + i,
          downloadProgress: s.downloadProgress,
        },
      ]),
    );
    const downloading = Object.values(state.services).some((s) => s.imageStatus === 'Downloading');
    return {
      [appName]: {
        appId,
        appUuid: hex(16),
        commit: state.commit,
        updateStatus: downloading
          ? 'downloading'
          : state.appState === 'applying'
            ? 'applying changes'
            : 'done',
        services,
      },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dropStreams = () => {
    for (const f of followers) f.res.destroy();
    followers.clear();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    appId,
    calls,
    setLocked: (value) => {
      locked = value;
    },
    setDown: (value) => {
      down = value;
      if (down) {
        dropStreams();
        server.closeIdleConnections();
      }
    },
    setState: (patch) => {
      const { services, ...rest } = patch;
      Object.assign(state, rest);
      for (const [name, s] of Object.entries(services ?? {})) {
        const before = state.services[name];
        if (!before) {
          state.services[name] = {
            status: null,
            imageStatus: 'Downloaded',
            downloadProgress: null,
            image: '',
            ...s,
          };
          if (s.status) startContainer(name);
        } else {
          if (before.status === null && s.status) startContainer(name);
          Object.assign(before, s);
        }
      }
    },
    state: () => structuredClone(state),
    addLog,
    close: async () => {
      dropStreams();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One entry as journalctl prints it: `short-iso` (`2024-05-01T10:00:00+0000 host id[pid]: msg`) or `short`. */
function line(e: Entry, format: string): string {
  const utc = e.time.toUTCString(); // "Wed, 01 May 2024 10:00:00 GMT"
  const stamp =
    format === 'short-iso'
      ? e.time.toISOString().replace(/\.\d+Z$/, '+0000')
      : `${utc.slice(8, 11)} ${utc.slice(5, 7)} ${utc.slice(17, 25)}`;
  return `${stamp} balena ${e.identifier}[1234]: ${e.message}\n`;
}
