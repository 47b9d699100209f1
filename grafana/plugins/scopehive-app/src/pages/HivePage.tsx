import React from 'react';
import { ErrorLine } from '../components/ErrorLine';
import type { Loaded } from '../components/useLoad';
import type { HiveNode } from '../hive';

export function HivePage({ hive }: { hive: Loaded<HiveNode[]> }) {
  return (
    <div>
      <ErrorLine error={hive.error} title="Hive unavailable" />
      <table className="scopehive-table">
        <thead>
          <tr>
            <th>Node</th>
            <th>Role</th>
            <th>Device type</th>
            <th>Provider</th>
            <th>Version</th>
            <th>Jobs in flight</th>
            <th>Images/s</th>
          </tr>
        </thead>
        <tbody>
          {(hive.data ?? []).map((n) => (
            <tr key={n.member}>
              <td>{n.member}</td>
              <td>{n.role}</td>
              <td>{n.deviceType}</td>
              <td>{n.provider}</td>
              <td>{n.version}</td>
              <td>{n.jobsInFlight ?? '—'}</td>
              <td>{n.imagesPerSecond.toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
