import { describe, expect, it } from 'vitest';
import { SlidingRate, windowRate } from '../src/metrics/rate.ts';

/** Event times from `from` to `to` inclusive, every `step` ms. */
const every = (from: number, to: number, step: number) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

describe('windowRate', () => {
  it('is 0 without events in the window', () => {
    expect(windowRate([], 10_000, 30_000)).toBe(0);
    expect(windowRate([1000, 2000], 50_000, 30_000)).toBe(0);
  });

  it('measures a fresh start from its first event, not over the whole window', () => {
    // 10 images in the first 10 s of a 30 s window: 1 image/s, not 10/30.
    expect(windowRate(every(0, 9000, 1000), 10_000, 30_000)).toBe(1);
  });

  it('measures over at least one second', () => {
    expect(windowRate([5000, 5200, 5400], 5500, 30_000)).toBe(3);
  });

  it('counts the events in (now - window, now]: the window start and the future are outside', () => {
    // Only 95 000 is inside; the stream began 10 s ago, so the span is the full window.
    expect(windowRate([90_000, 95_000, 100_001], 100_000, 10_000)).toBeCloseTo(0.1, 12);
  });

  it('divides by the whole window once the stream is older than the window', () => {
    // 2 images/s since 85 s: 20 of them (90.5 s … 100 s) in the last 10 s.
    expect(windowRate(every(85_000, 100_000, 500), 100_000, 10_000)).toBe(2);
  });

  it('uses `since` for the stream start when older events are no longer in `times`', () => {
    const recent = every(90_500, 100_000, 500);
    expect(windowRate(recent, 100_000, 10_000, 85_000)).toBe(2);
    // Without it the first event inside is taken as the start: 20 events in 9.5 s.
    expect(windowRate(recent, 100_000, 10_000)).toBeCloseTo(20 / 9.5, 12);
  });

  it('reads a slow model at its true rate whatever the phase of the window', () => {
    // One image every 10 s over a 30 s window: 0.1 image/s just after an image and just before the next.
    const times = every(0, 100_000, 10_000);
    expect(windowRate(times, 100_010, 30_000)).toBeCloseTo(0.1, 12);
    expect(windowRate(times, 109_990, 30_000)).toBeCloseTo(0.1, 12);
  });
});

describe('SlidingRate', () => {
  it('reports events per second per key', () => {
    const rate = new SlidingRate(30_000);
    for (const t of every(0, 9000, 1000)) rate.record('yolo11n', t);
    for (const t of every(0, 9500, 500)) rate.record('cells', t);
    expect(rate.rates(10_000)).toEqual(
      new Map([
        ['yolo11n', 1],
        ['cells', 2],
      ]),
    );
  });

  it('keeps a key that went quiet, at 0', () => {
    const rate = new SlidingRate(10_000);
    rate.record('yolo11n', 0);
    rate.record('yolo11n', 1000);
    expect(rate.rates(60_000)).toEqual(new Map([['yolo11n', 0]]));
  });

  it('prunes events older than the window, so they are gone for good', () => {
    const rate = new SlidingRate(10_000);
    for (const t of [0, 1000, 2000]) rate.record('m', t);
    expect(rate.rates(2000).get('m')).toBe(1.5);
    // At 11.5 s only the event at 2 s is inside; the stream is older than the window.
    expect(rate.rates(11_500).get('m')).toBeCloseTo(0.1, 12);
    expect(rate.rates(20_000).get('m')).toBe(0);
    // Asking about an earlier moment again finds nothing: the events were dropped, not kept.
    expect(rate.rates(2000).get('m')).toBe(0);
  });

  it('prunes on record as well, keeping only the window behind the newest event', () => {
    const rate = new SlidingRate(10_000);
    for (const t of every(0, 100_000, 100)) rate.record('m', t);
    // 100 events in (90 s, 100 s], over the full window: 10/s.
    expect(rate.rates(100_000).get('m')).toBe(10);
    expect(rate.rates(95_000).get('m')).toBe(5);
  });

  it('divides by the whole window once the stream is older than it, even after pruning', () => {
    const rate = new SlidingRate(30_000);
    for (const t of every(0, 100_000, 10_000)) rate.record('slow', t);
    expect(rate.rates(100_010).get('slow')).toBeCloseTo(0.1, 12);
  });
});
