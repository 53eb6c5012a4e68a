import { describe, expect, test } from 'vitest';
import { Task } from '../src/lib/task.svelte';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('Task', () => {
  test('run refuses a second start while busy and keeps the AppError', async () => {
    const task = new Task();
    const d = deferred<void>();
    const first = task.run(() => d.promise);
    expect(task.busy).toBe(true);
    expect(await task.run(async () => {})).toBe(false);
    d.reject({ code: 'conflict', message: 'Geändert.' });
    expect(await first).toBe(false);
    expect(task.busy).toBe(false);
    expect(task.error).toEqual({ code: 'conflict', message: 'Geändert.' });
  });

  test('latest: a slower older answer never overwrites a newer one', async () => {
    const task = new Task();
    const older = deferred<string[]>();
    const newer = deferred<string[]>();
    const a = task.latest(() => older.promise);
    const b = task.latest(() => newer.promise);
    newer.resolve(['Lena']);
    expect(await b).toEqual(['Lena']);
    expect(task.busy).toBe(true);
    older.resolve(['L']);
    expect(await a).toBeUndefined();
    expect(task.busy).toBe(false);
  });
});
