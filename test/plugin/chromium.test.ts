/**
 * The built plugin's pages in headless Chromium (Debian's, driven by playwright-core), in front of the
 * real control API (the exporter's bootstrap and supervisor client) and the fake balena supervisor
 * (following its documented contract: the one part that cannot run here). Grafana itself cannot be
 * installed here: the harness serves the page with Grafana's runtime stubbed and proxies the plugin's
 * routes from its plugin.json the way Grafana's route proxy does (role check, token added server-side).
 * Screenshots go to docs/screenshots/ with SCOPEHIVE_SCREENSHOTS=write, else to a temporary folder.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ControlFixture,
  DEVICE,
  NEVER_SHOWN,
  startControlFixture,
} from '../../services/exporter/test/control/fixture.ts';
import type { GrafanaUser, OrgRole } from './harness/grafana-proxy.ts';
import { type Hive, startHive } from './harness/hive.ts';
import { type Browser, CHROMIUM, launchChromium, npmRun, type Page, repoRoot } from './harness/plugin.ts';
import { type HarnessServer, startHarness } from './harness/server.ts';

const shotsDir =
  process.env.SCOPEHIVE_SCREENSHOTS === 'write'
    ? path.join(repoRoot, 'docs/screenshots')
    : path.join(os.tmpdir(), `scopehive-screenshots-${process.pid}`);

let control: ControlFixture;
let harness: HarnessServer;
let browser: Browser;
let hive: Hive;
/** Every body and header the browser received, for the token check. */
const seen: string[] = [];
const reading: Array<Promise<void>> = [];
const pageErrors: string[] = [];

const USERS: Record<OrgRole, GrafanaUser> = {
  Viewer: { login: 'vera-viewer', orgRole: 'Viewer', isGrafanaAdmin: false },
  Editor: { login: 'ed-editor', orgRole: 'Editor', isGrafanaAdmin: false },
  Admin: { login: 'ada-admin', orgRole: 'Admin', isGrafanaAdmin: false },
};

async function open(role: OrgRole, page: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([harness.signIn(USERS[role])]);
  const tab = await context.newPage();
  tab.on('response', (response) => {
    seen.push(response.url(), JSON.stringify(response.headers()));
    // A live stream has no end to read to: its lines are checked on the page itself.
    if (response.headers()['content-type']?.startsWith('text/event-stream')) return;
    reading.push(
      response.text().then(
        (text) => void seen.push(text),
        () => undefined,
      ),
    );
  });
  tab.on('pageerror', (err) => pageErrors.push(err.message));
  await tab.goto(`${harness.url}/a/scopehive-app/${page}`);
  await tab.getByTestId(`scopehive-page-${page}`).waitFor({ timeout: 30_000 });
  return tab;
}

/** The page as a user first sees it (long pages are cut at the window, as on screen). */
async function shot(tab: Page, name: string) {
  await tab.screenshot({ path: path.join(shotsDir, `${name}.png`) });
}

/** The supervisor calls that act (not reads), from `from` on. */
const actions = (from: number) =>
  control.fake.calls.slice(from).filter((c) => c.method === 'POST' && c.path !== '/v2/journal-logs');

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `no ${CHROMIUM}: apt-get install chromium`).toBe(true);
  const build = npmRun('build');
  expect(build.status, build.output).toBe(0);
  await fs.mkdir(shotsDir, { recursive: true });
  control = await startControlFixture();
  hive = await startHive();
  harness = await startHarness(
    {
      jsonData: { exporterUrl: control.exporter.base },
      // As Grafana's provisioning reads them: $__file{/control/view.token}, trimmed.
      secureJsonData: { viewToken: control.tokens.view, adminToken: control.tokens.admin },
    },
    { prometheusUrl: hive.prometheusUrl },
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await harness?.close();
  await hive?.close();
  await control?.close();
});

describe('scopehive-app pages in headless Chromium (real control API, fake supervisor per its documented contract)', () => {
  it('a Viewer sees every page and no Restart, Reboot or Shutdown button; the proxy refuses the routes anyway', async () => {
    const from = control.fake.calls.length;
    const services = await open('Viewer', 'services');
    await services.getByText('inference', { exact: true }).waitFor();
    expect(await services.getByRole('button', { name: /restart/i }).count()).toBe(0);

    const device = await open('Viewer', 'device');
    await device.getByText(DEVICE, { exact: true }).first().waitFor();
    expect(await device.getByRole('button', { name: /reboot|shut down|update/i }).count()).toBe(0);

    const refused = await device.evaluate(
      async (confirm) =>
        Promise.all(
          ['reboot', 'services/inference/restart'].map(async (route) => {
            const res = await fetch(`/api/plugin-proxy/scopehive-app/${route}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ confirm }),
            });
            return res.status;
          }),
        ),
      DEVICE,
    );
    expect(refused).toEqual([403, 403]);
    expect(actions(from)).toEqual([]);
  });

  it('an Editor restarts a service and has no Reboot button', async () => {
    const from = control.fake.calls.length;
    const services = await open('Editor', 'services');
    await services.getByRole('button', { name: 'Restart inference' }).click();
    await services.getByText('restart requested').waitFor();
    expect(actions(from)).toMatchObject([
      { path: `/v2/applications/${control.fake.appId}/restart-service`, body: { serviceName: 'inference' } },
    ]);

    const device = await open('Editor', 'device');
    await device.getByText(DEVICE, { exact: true }).first().waitFor();
    expect(await device.getByRole('button', { name: /reboot|shut down/i }).count()).toBe(0);
  });

  it('an Admin reboots after typing the device name; jobs in flight answer 409 and Force goes ahead', async () => {
    control.fake.setLocked(true);
    control.jobs.inFlight = 3;
    const from = control.fake.calls.length;
    const device = await open('Admin', 'device');
    await device.getByRole('button', { name: 'Reboot…' }).click();
    const reboot = device.getByRole('button', { name: 'Reboot', exact: true });
    expect(await reboot.isDisabled()).toBe(true);
    await device.getByLabel('Device name to confirm reboot').fill('scope-lab-8');
    expect(await reboot.isDisabled()).toBe(true);
    await device.getByLabel('Device name to confirm reboot').fill(DEVICE);
    await reboot.click();
    const line = device.getByTestId('error-line');
    await line.waitFor();
    expect(await line.textContent()).toContain('3 job(s) in flight');
    await shot(device, 'device');

    await device.getByRole('button', { name: 'Force reboot' }).click();
    await device.getByText('Reboot requested').waitFor();
    expect(actions(from).map((c) => ({ path: c.path, body: c.body }))).toEqual([
      { path: '/v1/reboot', body: { force: false } },
      { path: '/v1/reboot', body: { force: true } },
    ]);
    control.fake.setLocked(false);

    const services = await open('Admin', 'services');
    await services.getByRole('button', { name: 'Restart ingest' }).waitFor();
    await shot(services, 'services');
  });

  it('the audit log names the Grafana user the proxy sent', async () => {
    const audit = await fs.readFile(path.join(control.exporter.tokenDir, 'audit.log'), 'utf8');
    expect(audit).toContain('ed-editor');
    expect(audit).toContain('ada-admin');
  });

  it('Logs: service filter, search and live follow', async () => {
    const logs = await open('Viewer', 'logs');
    const lines = logs.getByTestId('log-lines');
    control.fake.addLog('inference', 'analysed a.tif');
    control.fake.addLog('ingest', 'queued b.tif');
    await logs.getByLabel('Service').selectOption('inference');
    await logs.getByText(/analysed a\.tif/).waitFor();
    expect(await lines.textContent()).not.toContain('queued b.tif');
    await logs.getByRole('button', { name: 'Follow live' }).click();
    await logs.getByRole('button', { name: 'Stop following' }).waitFor();
    control.fake.addLog('inference', 'analysed bus.jpg in 412 ms');
    await logs.getByText(/analysed bus\.jpg/).waitFor({ timeout: 30_000 });
    await logs.getByLabel('Search logs').fill('bus.jpg');
    expect(await lines.textContent()).toContain('[inference] analysed bus.jpg in 412 ms');
    await shot(logs, 'logs');
  });

  it('Settings: the masked view, as the control API gives it', async () => {
    const settings = await open('Viewer', 'settings');
    await settings.getByText('SCOPEHIVE_CONFIDENCE', { exact: true }).first().waitFor();
    const masked = settings.getByText('masked', { exact: true });
    expect(await masked.count()).toBeGreaterThan(0);
    // NATS_URL's credentials show masked, exactly as the control API masked them.
    await settings.getByText('nats://********@nats:4222', { exact: true }).first().waitFor();
    await masked.first().scrollIntoViewIfNeeded();
    await shot(settings, 'settings');
  });

  it("Hive: the hive's live nodes, as the device's Prometheus has them", async () => {
    const page = await open('Viewer', 'hive');
    await page.getByText('scope-lab-8', { exact: true }).waitFor();
    expect(await page.getByText('genericx86-64-ext', { exact: true }).count()).toBe(1);
    expect(await page.getByText('tensorrt', { exact: true }).count()).toBe(1);
    await shot(page, 'hive');
  });

  it('no token or secret reaches any page or any answer the browser saw, and no page error', async () => {
    await Promise.all(reading);
    expect(reading.length).toBeGreaterThan(10);
    const all = seen.join('\n');
    for (const secret of [control.tokens.view, control.tokens.admin, ...NEVER_SHOWN]) {
      expect(all.includes(secret), 'a secret reached the browser').toBe(false);
    }
    expect(pageErrors).toEqual([]);
  });
});
