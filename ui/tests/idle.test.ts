import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { IdleTimer } from '../src/lib/idle';

describe('IdleTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-03-02T08:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('locks after N seconds without activity', () => {
    const onIdle = vi.fn();
    const timer = new IdleTimer({ idleMs: 60_000, onIdle });
    timer.start();
    vi.advanceTimersByTime(59_999);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
    expect(timer.isRunning).toBe(false);
    // Fires once, not again.
    vi.advanceTimersByTime(120_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  test('activity resets the countdown', () => {
    const onIdle = vi.fn();
    const timer = new IdleTimer({ idleMs: 60_000, onIdle });
    timer.start();
    vi.advanceTimersByTime(50_000);
    timer.activity();
    vi.advanceTimersByTime(50_000); // 100 s after start, 50 s after the activity
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10_000); // 60 s after the activity
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  test('reports activity to Rust at most once per 20 s', () => {
    const onTouch = vi.fn();
    const timer = new IdleTimer({ idleMs: 300_000, onIdle: () => {}, onTouch });
    timer.start();
    timer.activity(); // right after login: login itself counted as activity
    expect(onTouch).toHaveBeenCalledTimes(0);
    vi.advanceTimersByTime(20_000);
    timer.activity();
    expect(onTouch).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(1_000);
      timer.activity();
    }
    expect(onTouch).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    timer.activity();
    expect(onTouch).toHaveBeenCalledTimes(2);
  });

  test('a stopped timer never locks and ignores activity', () => {
    const onIdle = vi.fn();
    const onTouch = vi.fn();
    const timer = new IdleTimer({ idleMs: 10_000, onIdle, onTouch, touchEveryMs: 0 });
    timer.start();
    timer.stop();
    timer.activity();
    vi.advanceTimersByTime(60_000);
    expect(onIdle).not.toHaveBeenCalled();
    expect(onTouch).not.toHaveBeenCalled();
  });
});
