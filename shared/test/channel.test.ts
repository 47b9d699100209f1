import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BoundedChannel } from '../src/channel.ts';

/** Whether `p` has settled once the callbacks pending now have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  const mark = () => {
    done = true;
  };
  void p.then(mark, mark);
  await sleep(5);
  return done;
}

describe('BoundedChannel', () => {
  it('hands items to the reader in the order they were pushed', async () => {
    const ch = new BoundedChannel<number>(10);
    for (const n of [3, 1, 2]) await ch.push(n);
    ch.close();
    const got: number[] = [];
    for await (const n of ch) got.push(n);
    expect(got).toEqual([3, 1, 2]);
  });

  it('makes push wait while `capacity` items are unread', async () => {
    const ch = new BoundedChannel<string>(2);
    await ch.push('a');
    await ch.push('b');
    expect(ch.size).toBe(2);
    const third = ch.push('c');
    expect(await settled(third)).toBe(false);

    const it = ch[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 'a', done: false });
    expect(await settled(third)).toBe(true);
    expect(ch.size).toBe(2);
    expect(await it.next()).toEqual({ value: 'b', done: false });
    expect(await it.next()).toEqual({ value: 'c', done: false });
    expect(ch.size).toBe(0);
  });

  it('wakes a reader waiting on an empty channel when an item arrives', async () => {
    const ch = new BoundedChannel<number>(1);
    const it = ch[Symbol.asyncIterator]();
    const next = it.next();
    expect(await settled(next)).toBe(false);
    await ch.push(7);
    expect(await next).toEqual({ value: 7, done: false });
  });

  it('lets readers drain what is left after close, then stop', async () => {
    const ch = new BoundedChannel<number>(5);
    await ch.push(1);
    await ch.push(2);
    ch.close();
    const got: number[] = [];
    for await (const n of ch) got.push(n);
    expect(got).toEqual([1, 2]);
  });

  it('ends a reader waiting on an empty channel when it closes', async () => {
    const ch = new BoundedChannel<number>(1);
    const next = ch[Symbol.asyncIterator]().next();
    ch.close();
    expect(await next).toEqual({ value: undefined, done: true });
  });

  it('refuses pushes after close, including one that was waiting for room', async () => {
    const ch = new BoundedChannel<number>(1);
    await ch.push(1);
    const waiting = ch.push(2);
    ch.close();
    await expect(waiting).rejects.toThrow('channel is closed');
    await expect(ch.push(3)).rejects.toThrow('channel is closed');
    const got: number[] = [];
    for await (const n of ch) got.push(n);
    expect(got).toEqual([1]);
  });

  it('carries every item from a fast producer to a slow consumer without exceeding capacity', async () => {
    const ch = new BoundedChannel<number>(3);
    let most = 0;
    const producer = (async () => {
      for (let n = 0; n < 50; n++) {
        await ch.push(n);
        most = Math.max(most, ch.size);
      }
      ch.close();
    })();
    const got: number[] = [];
    for await (const n of ch) {
      got.push(n);
      if (n % 10 === 0) await sleep(1);
    }
    await producer;
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(most).toBe(3);
  });
});
