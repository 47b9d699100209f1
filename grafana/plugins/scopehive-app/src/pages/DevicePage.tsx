import { Alert, Badge, Button, Stack } from '@grafana/ui';
import React, { useState } from 'react';
import { route, toApiError } from '../api';
import { ConfirmAction } from '../components/ConfirmAction';
import { ErrorLine } from '../components/ErrorLine';
import { useLoad } from '../components/useLoad';
import { allows, type Role } from '../roles';
import type { Device } from '../types';

const dash = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? '—' : v);

export function DevicePage({ role }: { role: Role | undefined }) {
  const device = useLoad(() => route<Device>('device'));
  const d = device.data;
  return (
    <div>
      <ErrorLine error={device.error} title="Device state unavailable" />
      {d && (
        <Stack direction="column" gap={2}>
          <table className="scopehive-facts">
            <tbody>
              <Fact name="Name" value={d.name} />
              <Fact name="Device type" value={dash(d.deviceType)} />
              <Fact name="Status" value={dash(d.status)} />
              <Fact name="OS" value={dash(d.osVersion)} />
              <Fact name="Supervisor" value={dash(d.supervisorVersion)} />
              <Fact name="IP addresses" value={d.ipAddresses.length ? d.ipAddresses.join(', ') : '—'} />
              <Fact name="Release" value={dash(d.commit)} />
              <Fact name="UUID" value={dash(d.uuid)} />
            </tbody>
          </table>
          <UpdateState device={d} />
          {allows(role, 'Admin') && <Actions device={d} />}
        </Stack>
      )}
    </div>
  );
}

function Fact({ name, value }: { name: string; value: string }) {
  return (
    <tr>
      <th style={{ textAlign: 'left', paddingRight: 16 }}>{name}</th>
      <td>{value}</td>
    </tr>
  );
}

function UpdateState({ device }: { device: Device }) {
  const { update } = device;
  return (
    <div>
      <h3>Update</h3>
      <Stack direction="row" gap={1}>
        {update.failed && <Badge color="red" text="failed" icon="exclamation-triangle" />}
        {update.downloading && <Badge color="blue" text="downloading" icon="cloud-download" />}
        {update.pending && <Badge color="orange" text="pending" />}
        {!update.failed && !update.downloading && !update.pending && (
          <Badge color="green" text="up to date" />
        )}
      </Stack>
      {update.progress.length > 0 && (
        <ul>
          {update.progress.map((p) => (
            <li key={p.service}>
              {p.service}: {Math.round(p.progress)} %
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Actions({ device }: { device: Device }) {
  const [checking, setChecking] = useState(false);
  const [checked, setChecked] = useState<string>();
  const [error, setError] = useState<Error>();
  const check = async () => {
    setChecking(true);
    setError(undefined);
    try {
      await route('update', { method: 'POST', body: {} });
      setChecked('The supervisor is checking for an update.');
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setChecking(false);
    }
  };
  return (
    <div>
      <h3>Actions</h3>
      <Stack direction="column" gap={2}>
        <div>
          <Button variant="secondary" icon="sync" disabled={checking} onClick={check}>
            Check for update
          </Button>
          {checked && <Alert severity="info" title={checked} />}
          <ErrorLine error={error} title="Update check refused" />
        </div>
        <ConfirmAction action="reboot" deviceName={device.name} />
        <ConfirmAction action="shutdown" deviceName={device.name} />
      </Stack>
    </div>
  );
}
