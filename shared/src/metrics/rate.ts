/**
 * Events per second over a sliding window: a ring of event times per key. The model frame rate
 * (images/s per model) is computed from it at scrape time, not from a Prometheus `rate()`, so a
 * dashboard shows it even before two scrapes exist.
 */
export class SlidingRate {
  readonly #windowMs: number;
  readonly #events = new Map<string, number[]>();
  /** First event per key, kept after pruning: it tells a fresh start from a full window. */
  readonly #since = new Map<string, number>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  record(key: string, at = Date.now()): void {
    let times = this.#events.get(key);
    if (!times) {
      times = [];
      this.#events.set(key, times);
      this.#since.set(key, at);
    }
    times.push(at);
    this.#prune(times, at);
  }

  /** Events per second for each key over the window ending at `now`. */
  rates(now = Date.now()): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, times] of this.#events) {
      this.#prune(times, now);
      out.set(key, windowRate(times, now, this.#windowMs, this.#since.get(key)));
    }
    return out;
  }

  #prune(times: number[], now: number): void {
    let drop = 0;
    while (drop < times.length && times[drop] <= now - this.#windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
  }
}

/**
 * Rate of the sorted event times inside (now - window, now]. Until the first event (`since`, by
 * default the first of `times`) is a full window old, the rate is measured from that first event so
 * a fresh start does not read low; after that it is the count over the whole window.
 */
export function windowRate(
  times: readonly number[],
  now: number,
  windowMs: number,
  since = times[0],
): number {
  const inside = times.filter((t) => t > now - windowMs && t <= now);
  if (inside.length === 0) return 0;
  const span = Math.min(windowMs, Math.max(now - Math.min(since, inside[0]), 1000));
  return inside.length / (span / 1000);
}
