import { Badge, Button } from '@grafana/ui';
import React, { useState } from 'react';
import { route, toApiError } from '../api';
import { ErrorLine } from '../components/ErrorLine';
import { useLoad } from '../components/useLoad';
import { allows, type Role } from '../roles';
import type { Service } from '../types';

const colour = (status: string) => (status === 'Running' ? 'green' : status === 'exited' ? 'red' : 'orange');

/** balena's image references are a registry path and a digest: the last part and a short digest say enough. */
export function shortImage(image: string | null): string {
  if (!image) return '—';
  const [name, digest] = image.split('@');
  const last = name.split('/').pop() ?? name;
  const short = last.length > 16 ? `${last.slice(0, 12)}…` : last;
  return digest ? `${short} @${digest.replace(/^sha256:/, '').slice(0, 12)}` : short;
}

export function ServicesPage({ role }: { role: Role | undefined }) {
  const services = useLoad(() => route<{ services: Service[] }>('services'));
  const canRestart = allows(role, 'Editor');
  return (
    <div>
      <ErrorLine error={services.error} title="Services unavailable" />
      {services.data && (
        <table className="scopehive-table">
          <thead>
            <tr>
              <th>Service</th>
              <th>State</th>
              <th>Image</th>
              <th>Created</th>
              {canRestart && <th />}
            </tr>
          </thead>
          <tbody>
            {services.data.services.map((s) => (
              <tr key={s.name}>
                <td>{s.name}</td>
                <td>
                  <Badge color={colour(s.status)} text={s.status} />
                </td>
                <td title={s.image ?? undefined}>{shortImage(s.image)}</td>
                <td>{s.createdAt ? new Date(s.createdAt).toLocaleString() : '—'}</td>
                {canRestart && (
                  <td>
                    <Restart name={s.name} onDone={services.reload} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Restart({ name, onDone }: { name: string; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<string>();
  const [error, setError] = useState<Error>();
  const restart = async () => {
    setBusy(true);
    setError(undefined);
    setSaid(undefined);
    try {
      await route(`services/${encodeURIComponent(name)}/restart`, { method: 'POST', body: {} });
      setSaid('restart requested');
      onDone();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <Button
        size="sm"
        variant="secondary"
        icon="sync"
        disabled={busy}
        onClick={restart}
        aria-label={`Restart ${name}`}
      >
        Restart
      </Button>
      {said && <span style={{ marginLeft: 8 }}>{said}</span>}
      <ErrorLine error={error} title={`Restart of ${name} refused`} />
    </div>
  );
}
