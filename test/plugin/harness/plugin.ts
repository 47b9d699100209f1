/**
 * The plugin project as the harness uses it: its folder, its plugin.json, its build, and the tools it
 * locks (esbuild, playwright-core), loaded from its own node_modules so the root stays lean. The types
 * here are the few calls the harness makes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginRoute } from './grafana-proxy.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const pluginDir = path.join(repoRoot, 'grafana/plugins/scopehive-app');
export const distDir = path.join(pluginDir, 'dist');

const pluginRequire = createRequire(path.join(pluginDir, 'package.json'));

export function pluginJson(): { id: string; routes: PluginRoute[] } {
  return JSON.parse(readFileSync(path.join(pluginDir, 'src/plugin.json'), 'utf8'));
}

/** Runs one of the plugin's npm scripts; the whole output comes back for a failing test to show. */
export function npmRun(script: string): { status: number; output: string } {
  const run = spawnSync('npm', ['run', script, '--silent'], {
    cwd: pluginDir,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  return { status: run.status ?? 1, output: `${run.stdout}\n${run.stderr}` };
}

export function pluginInstalled(): boolean {
  return existsSync(path.join(pluginDir, 'node_modules/.package-lock.json'));
}

interface EsbuildResult {
  outputFiles: Array<{ text: string }>;
}
interface Esbuild {
  build(options: Record<string, unknown>): Promise<EsbuildResult>;
}

/** The harness page's script: Grafana's shared modules and the runtime stub, for the browser. */
export async function bundleHost(): Promise<string> {
  const esbuild = pluginRequire('esbuild') as Esbuild;
  const result = await esbuild.build({
    entryPoints: [path.join(repoRoot, 'test/plugin/harness/browser/host.js')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    logLevel: 'silent',
    nodePaths: [path.join(pluginDir, 'node_modules')],
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    loader: { '.css': 'empty', '.svg': 'dataurl', '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty' },
  });
  return result.outputFiles[0].text;
}

export interface Response {
  url(): string;
  status(): number;
  text(): Promise<string>;
  headers(): Record<string, string>;
}
export interface Locator {
  click(): Promise<void>;
  fill(value: string): Promise<void>;
  selectOption(value: string): Promise<string[]>;
  count(): Promise<number>;
  isDisabled(): Promise<boolean>;
  isEnabled(): Promise<boolean>;
  textContent(): Promise<string | null>;
  waitFor(options?: { state?: 'attached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  first(): Locator;
  scrollIntoViewIfNeeded(): Promise<void>;
}
export interface Page {
  goto(url: string): Promise<unknown>;
  content(): Promise<string>;
  screenshot(options: { path: string }): Promise<unknown>;
  getByRole(role: string, options?: { name?: string | RegExp; exact?: boolean }): Locator;
  getByLabel(text: string | RegExp): Locator;
  getByTestId(id: string): Locator;
  getByText(text: string | RegExp, options?: { exact?: boolean }): Locator;
  on(event: 'response', listener: (response: Response) => void): void;
  on(event: 'pageerror', listener: (error: Error) => void): void;
  evaluate<T, A>(fn: (arg: A) => T | Promise<T>, arg: A): Promise<T>;
}
export interface BrowserContext {
  addCookies(cookies: Array<{ name: string; value: string; url: string }>): Promise<void>;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
export interface Browser {
  newContext(options?: { viewport?: { width: number; height: number } }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  const { chromium } = pluginRequire('playwright-core') as {
    chromium: { launch(options: Record<string, unknown>): Promise<Browser> };
  };
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}
