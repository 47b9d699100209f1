/**
 * The signed-in user's role, as Grafana's proxy checks it for `reqRole` (a server admin passes every
 * check). The pages hide what the role cannot do; the proxy refuses it anyway.
 */
import { config } from '@grafana/runtime';

export type Role = 'Viewer' | 'Editor' | 'Admin';

const RANK: Record<Role, number> = { Viewer: 1, Editor: 2, Admin: 3 };

export function currentRole(): Role | undefined {
  const user = config.bootData?.user;
  if (user?.isGrafanaAdmin) return 'Admin';
  const role = user?.orgRole;
  return role === 'Viewer' || role === 'Editor' || role === 'Admin' ? role : undefined;
}

export function allows(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}
