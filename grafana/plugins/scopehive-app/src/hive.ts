/**
 * The hive as the device's Prometheus sees it (the exporter's `scopehive_hive_node_*` series), read
 * through Grafana's data source proxy for the provisioned Prometheus (uid `prometheus`). No series: no hive.
 */
import { call } from './api';

export const PROMETHEUS = '/api/datasources/proxy/uid/prometheus';

export interface HiveNode {
  member: string;
  role: string;
  deviceType: string;
  provider: string;
  version: string;
  jobsInFlight: number | undefined;
  imagesPerSecond: number;
}

interface Vector {
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

const query = (q: string) => call<Vector>(`${PROMETHEUS}/api/v1/query`, { params: { query: q } });

/** The live hive nodes, or an empty list when this device is in no hive (or Prometheus is not there). */
export async function hiveNodes(): Promise<HiveNode[]> {
  let info: Vector;
  try {
    info = await query('scopehive_hive_node_info');
  } catch {
    return [];
  }
  const [jobs, rates] = await Promise.all([
    query('scopehive_hive_node_jobs_in_flight'),
    query('sum by (member) (scopehive_hive_node_images_per_second)'),
  ]);
  const byMember = (v: Vector) => new Map(v.data.result.map((r) => [r.metric.member, Number(r.value[1])]));
  const jobsOf = byMember(jobs);
  const rateOf = byMember(rates);
  return info.data.result
    .map(({ metric: m }) => ({
      member: m.member,
      role: m.role ?? '',
      deviceType: m.device_type ?? '',
      provider: m.provider ?? '',
      version: m.version ?? '',
      jobsInFlight: jobsOf.get(m.member),
      imagesPerSecond: rateOf.get(m.member) ?? 0,
    }))
    .sort((a, b) => a.member.localeCompare(b.member));
}
