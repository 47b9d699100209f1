/** A one-line progress bar on a terminal; on a pipe or log, a line every 10 %. */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #started = performance.now();
  #lastDecile = -1;

  constructor(
    readonly total: number,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.#stream = stream;
  }

  update(done: number, failed: number): void {
    const line = progressLine(done, failed, this.total, (performance.now() - this.#started) / 1000);
    if (this.#stream.isTTY) {
      this.#stream.write(`\r${line}\x1b[K`);
      if (done === this.total) this.#stream.write('\n');
    } else {
      const decile = Math.floor((10 * done) / Math.max(1, this.total));
      if (decile !== this.#lastDecile) {
        this.#lastDecile = decile;
        this.#stream.write(`${line}\n`);
      }
    }
  }
}

/** `[########------------] 12/30 jobs · 1 failed · 3.1/s · ETA 6 s` */
export function progressLine(
  done: number,
  failed: number,
  total: number,
  elapsedS: number,
  width = 24,
): string {
  const fraction = total === 0 ? 1 : done / total;
  const filled = Math.round(fraction * width);
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const eta = rate > 0 && done < total ? ` · ETA ${Math.ceil((total - done) / rate)} s` : '';
  const failures = failed > 0 ? ` · ${failed} failed` : '';
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} jobs${failures} · ${rate.toFixed(1)}/s${eta}`;
}
