#!/usr/bin/env -S node --conditions=scopehive-dist
// `npx scopehive …`: the compiled CLI (services/inference/dist), the build brought up to date first
// (scripts/run-built.mjs). `env -S` passes node the condition that resolves @scopehive/* to dist/.
import { runBuilt } from '../../../scripts/run-built.mjs';

// prestart.ts first: for `analyze` it starts the model's thread (ONNX Runtime loading on another
// core) before the rest of the CLI is read, about 70 ms earlier than an import inside main.ts can.
await runBuilt(
  new URL('../src/cli/prestart.ts', import.meta.url),
  new URL('../src/cli/main.ts', import.meta.url),
);
