import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PROXY, toApiError } from '../api';
import { App, pageOf } from '../components/App';
import { currentRole } from '../roles';
import { backend, user } from '../testing/grafana';
import { DevicePage } from './DevicePage';
import { ServicesPage, shortImage } from './ServicesPage';
import { SettingsPage } from './SettingsPage';

vi.mock('@grafana/runtime', async () => (await import('../testing/grafana')).runtimeStub);

const device = {
  name: 'scope-lab-3',
  uuid: 'a1b2c3',
  deviceType: 'jetson-orin-nano-devkit-nvme',
  osVersion: 'balenaOS 6.0.13',
  supervisorVersion: '16.7.1',
  ipAddresses: ['192.168.1.20'],
  status: 'Idle',
  commit: 'abc123',
  update: { pending: false, downloading: false, failed: false, progress: [] },
};
const services = {
  services: [
    { name: 'inference', status: 'Running', image: 'inference:1' },
    { name: 'ingest', status: 'Running', image: 'ingest:1' },
  ],
};

function signIn(role: 'Viewer' | 'Editor' | 'Admin') {
  user.orgRole = role;
  user.isGrafanaAdmin = false;
}

beforeEach(() => {
  backend.reset();
  backend.answer(`GET ${PROXY}/device`, device);
  backend.answer(`GET ${PROXY}/services`, services);
  signIn('Viewer');
});

describe('roles', () => {
  it('a server admin acts as Admin whatever the org role; no role is no role', () => {
    user.isGrafanaAdmin = true;
    expect(currentRole()).toBe('Admin');
    user.isGrafanaAdmin = false;
    user.orgRole = '';
    expect(currentRole()).toBeUndefined();
  });
});

describe('Services page', () => {
  it('shows no Restart button to a Viewer', async () => {
    render(<ServicesPage role={currentRole()} />);
    expect(await screen.findByText('ingest')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /restart/i })).toBeNull();
  });

  it('lets an Editor restart a service through the Editor route', async () => {
    signIn('Editor');
    backend.answer(`POST ${PROXY}/services/ingest/restart`, { ok: true });
    render(<ServicesPage role={currentRole()} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Restart ingest' }));
    expect(await screen.findByText('restart requested')).toBeInTheDocument();
    expect(backend.sent.filter((s) => s.method === 'POST').map((s) => s.url)).toEqual([
      `${PROXY}/services/ingest/restart`,
    ]);
  });
});

describe('Device page', () => {
  it.each(['Viewer', 'Editor'] as const)('shows a %s no reboot, shutdown or update button', async (role) => {
    signIn(role);
    render(<DevicePage role={currentRole()} />);
    expect(await screen.findByText('scope-lab-3')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /reboot|shut down|update/i })).toBeNull();
  });

  it('reboots only once the device name is typed, and offers Force when jobs are in flight', async () => {
    signIn('Admin');
    backend.answer(
      `POST ${PROXY}/reboot`,
      {
        error: 'an update lock is held (2 job(s) in flight): force: true goes ahead anyway',
        jobsInFlight: 2,
      },
      409,
    );
    render(<DevicePage role={currentRole()} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Reboot…' }));
    const confirm = screen.getByRole('button', { name: 'Reboot' });
    expect(confirm).toBeDisabled();
    const input = screen.getByLabelText('Device name to confirm reboot');
    await userEvent.type(input, 'scope-lab');
    expect(confirm).toBeDisabled();
    await userEvent.type(input, '-3');
    expect(confirm).toBeEnabled();
    await userEvent.click(confirm);
    expect(await screen.findByTestId('error-line')).toHaveTextContent(
      'an update lock is held (2 job(s) in flight): force: true goes ahead anyway (HTTP 409)',
    );

    backend.answer(`POST ${PROXY}/reboot`, { ok: true });
    await userEvent.click(screen.getByRole('button', { name: 'Force reboot' }));
    expect(await screen.findByText('Reboot requested')).toBeInTheDocument();
    expect(backend.sent.filter((s) => s.method === 'POST').map((s) => s.body)).toEqual([
      { confirm: 'scope-lab-3' },
      { confirm: 'scope-lab-3', force: true },
    ]);
  });

  it("says the control API's error in one line", async () => {
    backend.answer(
      `GET ${PROXY}/device`,
      { error: 'device management needs balena (no supervisor address)\nsecond line never shown' },
      503,
    );
    render(<DevicePage role={currentRole()} />);
    const line = await screen.findByTestId('error-line');
    expect(line).toHaveTextContent('device management needs balena (no supervisor address) (HTTP 503)');
    expect(line).not.toHaveTextContent('second line');
  });
});

describe('Settings page', () => {
  it('shows masked values exactly as the API gives them, marked masked', async () => {
    backend.answer(`GET ${PROXY}/settings`, {
      note: 'Secret-looking names are masked.',
      hiddenVariables: 3,
      services: [
        {
          service: 'exporter',
          settings: [
            {
              name: 'SCOPEHIVE_HIVE_SECRET',
              value: '••••••',
              source: 'set',
              description: 'hive secret',
              masked: true,
            },
            {
              name: 'NATS_URL',
              value: 'nats://user:••••••@nats:4222',
              source: 'set',
              description: 'queue',
              masked: true,
            },
            {
              name: 'SCOPEHIVE_HTTP_PORT',
              value: '9464',
              source: 'default',
              description: 'port',
              masked: false,
            },
          ],
        },
      ],
    });
    render(<SettingsPage />);
    expect(await screen.findByText('••••••')).toBeInTheDocument();
    expect(screen.getByText('nats://user:••••••@nats:4222')).toBeInTheDocument();
    expect(screen.getAllByText('masked')).toHaveLength(2);
    expect(screen.getByText('3 variable(s) outside the settings schema are not shown.')).toBeInTheDocument();
  });
});

describe('App', () => {
  it('names the page from the URL, the Device page by default', () => {
    expect(pageOf('/a/scopehive-app/logs')).toBe('logs');
    expect(pageOf('/a/scopehive-app/settings/')).toBe('settings');
    expect(pageOf('/a/scopehive-app')).toBe('device');
  });

  it('has no Hive tab when Prometheus has no hive series, and one when it has', async () => {
    const hive = (result: unknown[]) =>
      backend.answer('GET /api/datasources/proxy/uid/prometheus/api/v1/query', { data: { result } });
    hive([]);
    const { unmount } = render(<App />);
    expect(await screen.findByText('scope-lab-3')).toBeInTheDocument();
    await waitFor(() => expect(backend.sent.some((s) => s.url.includes('prometheus'))).toBe(true));
    expect(screen.queryByRole('tab', { name: /hive/i })).toBeNull();
    unmount();

    hive([{ metric: { member: 'scope-lab-3', role: 'origin' }, value: [0, '1'] }]);
    render(<App />);
    expect(await screen.findByRole('tab', { name: /hive/i })).toBeInTheDocument();
  });
});

describe('toApiError', () => {
  it("keeps Grafana's own refusal and the status", () => {
    expect(toApiError({ status: 403, data: { message: 'plugin proxy route access denied' } }).message).toBe(
      'plugin proxy route access denied (HTTP 403)',
    );
    expect(toApiError({ status: 502, data: '' }).message).toBe('HTTP 502');
  });
});

describe('shortImage', () => {
  it("keeps the image's last name and a short digest", () => {
    expect(
      shortImage('registry2.balena-cloud.com/v2/2577d42cc07e4fe9eb6b03918edceba0@sha256:7bc42a46668aea623c'),
    ).toBe('2577d42cc07e… @7bc42a46668a');
    expect(shortImage('nats:2.10')).toBe('nats:2.10');
    expect(shortImage(null)).toBe('—');
  });
});
