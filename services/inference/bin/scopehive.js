#!/usr/bin/env node
// `npx scopehive …`: the sources are TypeScript, run through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
