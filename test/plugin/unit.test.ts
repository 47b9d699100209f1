/**
 * The plugin's own checks, run from the root suite: its types (the plugin's tsconfig, which
 * create-plugin sets up for Grafana's packages) and its pages' unit tests (React Testing Library in
 * jsdom, grafana/plugins/scopehive-app/src/**\/*.test.tsx).
 */
import { describe, expect, it } from 'vitest';
import { npmRun, pluginInstalled } from './harness/plugin.ts';

describe('scopehive-app plugin', () => {
  it('has its dependencies installed (scripts/setup-test-deps.sh runs npm ci in its folder)', () => {
    expect(pluginInstalled(), 'run: npm ci --prefix grafana/plugins/scopehive-app').toBe(true);
  });

  it('type-checks', () => {
    const run = npmRun('typecheck');
    expect(run.status, run.output).toBe(0);
  }, 120_000);

  it("passes its pages' unit tests (React Testing Library)", () => {
    const run = npmRun('test');
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/Tests\s+\d+ passed/);
  }, 120_000);
});
