import { Gauge, Registry } from 'prom-client';

const r = new Registry();
new Gauge({
  name: 'x_bytes',
  help: 'h',
  registers: [r],
  collect() {
    this.remove();
  },
});
new Gauge({
  name: 'y_bytes',
  help: 'h',
  registers: [r],
  async collect() {
    this.set(3);
  },
});
console.log(await r.metrics());
