#!/usr/bin/env -S node --conditions=scopehive-dist
// `npx scopehive …`: the compiled CLI (services/inference/dist), the build brought up to date first
// (scripts/run-built.mjs). `env -S` passes node the condition that resolves @scopehive/* to dist/.
import { runBuilt } from '../../../scripts/run-built.mjs';

await runBuilt(new URL('../src/cli/main.ts', import.meta.url));
