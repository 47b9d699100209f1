/**
 * grafana/entrypoint.sh and the scopehive app's tokens: Grafana stops when a provisioned $__file{} is
 * missing, so on balena the entrypoint waits for the exporter to write them, and off balena (where the
 * control API is off and writes none) it provisions the app without them. Outside the Grafana image
 * /run.sh does not exist: reaching it is what "starts Grafana" means here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './harness/plugin.ts';

const entrypoint = path.join(repoRoot, 'grafana/entrypoint.sh');
let root: string;
let control: string;
let app: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'scopehive-grafana-app-'));
  control = path.join(root, 'control');
  mkdirSync(control);
  mkdirSync(path.join(root, 'provisioning/plugins'), { recursive: true });
  mkdirSync(path.join(root, 'data'));
  app = path.join(root, 'provisioning/plugins/scopehive-app.yaml');
  copyFileSync(path.join(repoRoot, 'grafana/provisioning/plugins/scopehive-app.yaml'), app);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH,
  GF_PATHS_DATA: path.join(root, 'data'),
  GF_PATHS_PROVISIONING: path.join(root, 'provisioning'),
  GF_SECURITY_ADMIN_PASSWORD: 'a-strong-test-password-42',
  SCOPEHIVE_CONTROL_DIR: control,
  ...extra,
});
const startedGrafana = (status: number | null, stderr: string) => status === 127 && /\/run\.sh/.test(stderr);
const writeTokens = () => {
  writeFileSync(path.join(control, 'view.token'), 'view-token-never-printed\n');
  writeFileSync(path.join(control, 'admin.token'), 'admin-token-never-printed\n');
};

describe('grafana/entrypoint.sh provisions the scopehive app', () => {
  it('with the tokens there, starts Grafana with the provisioning untouched and prints no token', () => {
    writeTokens();
    const before = readFileSync(app, 'utf8');
    const r = spawnSync('sh', [entrypoint], { env: env({ BALENA_DEVICE_UUID: 'abc' }), encoding: 'utf8' });
    expect(startedGrafana(r.status, r.stderr)).toBe(true);
    expect(readFileSync(app, 'utf8')).toBe(before);
    expect(r.stderr).not.toContain('never-printed');
  });

  it('on balena, waits for the exporter to write the tokens, then starts Grafana', async () => {
    const child = spawn('sh', [entrypoint], { env: env({ BALENA_DEVICE_UUID: 'abc' }) });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const waiting = new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (stderr.includes('waiting for the exporter')) resolve();
      }),
    );
    await waiting;
    writeTokens();
    expect(startedGrafana(await exited, stderr)).toBe(true);
    expect(parse(readFileSync(app, 'utf8')).apps[0].secureJsonData).toEqual({
      viewToken: '$__file{/control/view.token}',
      adminToken: '$__file{/control/admin.token}',
    });
  });

  it('off balena, provisions the app without tokens in one line and starts Grafana', () => {
    const r = spawnSync('sh', [entrypoint], { env: env(), encoding: 'utf8' });
    expect(startedGrafana(r.status, r.stderr)).toBe(true);
    expect(r.stderr).toContain(
      `grafana: no control tokens in ${control} (device management needs balena): the scopehive app is provisioned without them\n`,
    );
    expect(parse(readFileSync(app, 'utf8')).apps).toEqual([
      {
        type: 'scopehive-app',
        org_id: 1,
        disabled: false,
        jsonData: { exporterUrl: 'http://exporter:9464' },
      },
    ]);
  });
});
