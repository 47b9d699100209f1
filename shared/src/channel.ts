/**
 * A bounded first-in-first-out channel between two async loops: `push` waits while `capacity`
 * items are unread, which is how backpressure travels from a slow stage to a fast one.
 */
export class BoundedChannel<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #readers: Array<() => void> = [];
  #writers: Array<() => void> = [];
  #closed = false;

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.#items.length;
  }

  async push(item: T): Promise<void> {
    while (this.#items.length >= this.capacity && !this.#closed) {
      await new Promise<void>((resolve) => this.#writers.push(resolve));
    }
    if (this.#closed) throw new Error('channel is closed');
    this.#items.push(item);
    this.#notify(this.#readers);
  }

  /** No more pushes; readers drain what is left, then stop. */
  close(): void {
    this.#closed = true;
    this.#notify(this.#readers);
    this.#notify(this.#writers);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#items.length > 0) {
        const item = this.#items.shift() as T;
        this.#notify(this.#writers);
        yield item;
      } else if (this.#closed) {
        return;
      } else {
        await new Promise<void>((resolve) => this.#readers.push(resolve));
      }
    }
  }

  #notify(waiters: Array<() => void>): void {
    for (const w of waiters.splice(0)) w();
  }
}
