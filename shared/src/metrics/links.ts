import { Counter, type Registry } from 'prom-client';

const NAME = 'scopehive_links_refused_total';

/**
 * The counter of symbolic links found in a watched folder and not taken. Ingest and the model
 * registry both count into it, in one process (`npm start`) or in separate containers, so it is
 * created once per registry and found again by whoever asks second.
 */
export function linksRefusedCounter(registry: Registry): Counter<'folder'> {
  const existing = registry.getSingleMetric(NAME);
  if (existing) return existing as Counter<'folder'>;
  return new Counter({
    name: NAME,
    help: 'Symbolic links found in a watched folder (inbox, models) and not taken.',
    labelNames: ['folder'] as const,
    registers: [registry],
  });
}
