/**
 * Reboot or shut down: the device's name must be typed before the button works, and an update lock
 * (jobs in flight) is shown as the control API says it, with a Force button for whoever may act.
 */
import { Alert, Button, Field, Input, Stack } from '@grafana/ui';
import React, { useState } from 'react';
import { type ApiError, route, toApiError } from '../api';
import { ErrorLine } from './ErrorLine';

export type DeviceAction = 'reboot' | 'shutdown';

const LABEL: Record<DeviceAction, string> = { reboot: 'Reboot', shutdown: 'Shut down' };

export function ConfirmAction({ action, deviceName }: { action: DeviceAction; deviceName: string }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState(false);
  const label = LABEL[action];

  const send = async (force: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      await route(action, {
        method: 'POST',
        body: force ? { confirm: typed, force: true } : { confirm: typed },
      });
      setDone(true);
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <Alert severity="success" title={`${label} requested`}>
        The supervisor was asked to {action === 'reboot' ? 'reboot' : 'shut down'} {deviceName}.
      </Alert>
    );
  }
  if (!open) {
    return (
      <div>
        <Button variant="destructive" icon="power" onClick={() => setOpen(true)}>
          {label}…
        </Button>
      </div>
    );
  }
  const locked = error?.status === 409;
  return (
    <div data-testid={`confirm-${action}`}>
      <Field label={`Type the device name (${deviceName}) to ${label.toLowerCase()} it`}>
        <Input
          aria-label={`Device name to confirm ${action}`}
          value={typed}
          onChange={(e) => setTyped(e.currentTarget.value)}
          width={40}
        />
      </Field>
      <ErrorLine error={error} title={locked ? 'Jobs in flight' : `${label} refused`} />
      <Stack direction="row" gap={1}>
        <Button variant="destructive" disabled={typed !== deviceName || busy} onClick={() => send(false)}>
          {label}
        </Button>
        {locked && (
          <Button
            variant="destructive"
            fill="outline"
            disabled={typed !== deviceName || busy}
            onClick={() => send(true)}
          >
            Force {label.toLowerCase()}
          </Button>
        )}
        <Button variant="secondary" onClick={() => setOpen(false)}>
          Cancel
        </Button>
      </Stack>
    </div>
  );
}
