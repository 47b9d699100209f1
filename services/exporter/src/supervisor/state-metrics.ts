import type { Logger } from '@scopehive/shared';
import { Gauge, type Registry } from 'prom-client';
import type { StateStatus, SupervisorClient, SupervisorDevice } from './types.ts';

export interface SupervisorMetricsOptions {
  /** undefined off balena: then no supervisor series exist at all. */
  client: SupervisorClient | undefined;
  registry: Registry;
  logger: Logger;
  /** Between polls of the supervisor; default 15 s, Prometheus' usual scrape interval. */
  intervalMs?: number;
}

export interface SupervisorMetrics {
  /** Poll now; resolves when the gauges hold the answer. Never rejects. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every state a service can be in, as balena reports it: the container states of the supervisor's
 * ServiceStatus, and the image states for a service whose container does not exist yet. All of
 * them are exported for every service (one-hot, as kube-state-metrics does for pod phases), so
 * `scopehive_service_state{state="running"} == 0` is an alert that also fires on a new state.
 */
const SERVICE_STATES = [
  'running',
  'installing',
  'installed',
  'stopping',
  'exited',
  'dead',
  'paused',
  'restarting',
  'removing',
  'downloading',
  'downloaded',
] as const;

/**
 * The balena device state as Prometheus gauges, polled from GET /v1/device and GET
 * /v2/state/status so stock Grafana panels and alert rules can use them:
 * `scopehive_supervisor_up`, `scopehive_update_{pending,downloading,failed}`,
 * `scopehive_update_download_progress{service}` (0–1) and `scopehive_service_state{service,state}`.
 * While the supervisor cannot be reached, up is 0 and the other series are withdrawn (stale
 * figures would look current); that is logged once per outage, not once per poll.
 */
export function startSupervisorMetrics(options: SupervisorMetricsOptions): SupervisorMetrics {
  const { client, registry, logger } = options;
  if (!client) return { refresh: async () => undefined, close: async () => undefined };
  const registers = [registry];

  const up = new Gauge({
    name: 'scopehive_supervisor_up',
    help: 'Whether the balena supervisor answered the last poll (1) or not (0).',
    registers,
  });
  const flag = (name: string, help: string) => new Gauge({ name, help, registers });
  const pending = flag(
    'scopehive_update_pending',
    'The supervisor is checking for an update or has found one (1), else 0.',
  );
  const downloading = flag('scopehive_update_downloading', 'An update is being downloaded (1), else 0.');
  const failed = flag(
    'scopehive_update_failed',
    'The last try to apply an update failed, e.g. while an update lock was held (1), else 0.',
  );
  const progress = new Gauge({
    name: 'scopehive_update_download_progress',
    help: 'Share of each downloading service image fetched so far (0 to 1); no series when none downloads.',
    labelNames: ['service'] as const,
    registers,
  });
  const serviceState = new Gauge({
    name: 'scopehive_service_state',
    help: 'State of each service of the balena app, one-hot: 1 for the state it is in, 0 for the others.',
    labelNames: ['service', 'state'] as const,
    registers,
  });
  // An unlabelled gauge reads 0 until removed: no series at all is the honest "not known".
  const withdraw = () => {
    for (const g of [pending, downloading, failed]) g.remove();
    progress.reset();
    serviceState.reset();
  };
  up.remove();
  withdraw();

  let reachable: boolean | undefined;
  const show = (device: SupervisorDevice, status: StateStatus) => {
    withdraw();
    up.set(1);
    pending.set(device.updatePending ? 1 : 0);
    const fetching = status.images.filter((i) => i.status === 'Downloading');
    downloading.set(fetching.length > 0 || device.status === 'Downloading' ? 1 : 0);
    failed.set(device.updateFailed ? 1 : 0);
    for (const image of fetching) {
      if (image.downloadProgress !== null)
        progress.set({ service: image.serviceName }, image.downloadProgress / 100);
    }
    for (const [service, state] of serviceStates(status)) {
      for (const s of new Set<string>([...SERVICE_STATES, state]))
        serviceState.set({ service, state: s }, s === state ? 1 : 0);
    }
  };

  const poll = async () => {
    try {
      const [device, status] = await Promise.all([client.device(), client.stateStatus()]);
      show(device, status);
      if (reachable === false) logger.info('balena supervisor reachable again');
      reachable = true;
    } catch (err) {
      withdraw();
      up.set(0);
      if (reachable !== false) {
        logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'balena supervisor unreachable',
        );
      }
      reachable = false;
    }
  };

  let running: Promise<void> | undefined;
  const refresh = () => {
    // One poll at a time: a slow supervisor must not pile requests up.
    running ??= poll().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void refresh(), options.intervalMs ?? 15_000);
  timer.unref();
  void refresh();

  return {
    refresh,
    async close() {
      clearInterval(timer);
      await running;
      for (const name of [
        'scopehive_supervisor_up',
        'scopehive_update_pending',
        'scopehive_update_downloading',
        'scopehive_update_failed',
        'scopehive_update_download_progress',
        'scopehive_service_state',
      ]) {
        registry.removeSingleMetric(name);
      }
    },
  };
}

/**
 * One state per service, lower-cased: its container's, the newest one while an update hands over
 * from the old container to the new, else its image's while no container exists yet.
 */
export function serviceStates(status: StateStatus): Map<string, string> {
  const states = new Map<string, string>();
  const newest = new Map<string, string>();
  for (const c of status.containers) {
    const created = c.createdAt ?? '';
    if ((newest.get(c.serviceName) ?? '') > created && states.has(c.serviceName)) continue;
    newest.set(c.serviceName, created);
    states.set(c.serviceName, c.status.toLowerCase());
  }
  for (const i of status.images)
    if (!states.has(i.serviceName)) states.set(i.serviceName, i.status.toLowerCase());
  return states;
}
