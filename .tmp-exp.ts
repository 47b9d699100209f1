import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startDeviceMetrics } from './services/exporter/src/device-metrics.ts';
const registry = new Registry();
const s = startDeviceMetrics({ registry, dataDir: '/work', logger: pino() });
await new Promise((r) => setTimeout(r, 1000));
console.log(await registry.metrics());
s.close();
