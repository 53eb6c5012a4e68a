// One user action that calls the shell: its busy flag (to disable the button and show
// progress) and its error (shown next to the action). Typed input lives elsewhere, so an
// error never clears it.

import { toAppError, type AppError } from './api';

export class Task {
  busy = $state(false);
  error: AppError | null = $state(null);
  private seq = 0;
  private inFlight = 0;

  /** Runs `fn` unless already running; true when it succeeded. */
  async run(fn: () => Promise<unknown>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    this.error = null;
    try {
      await fn();
      return true;
    } catch (e) {
      this.error = toAppError(e);
      return false;
    } finally {
      this.busy = false;
    }
  }

  /**
   * For loads that may overlap (search as you type, reloads after quick key presses): every
   * call runs, and only the newest one's result or error counts. Undefined for an older call
   * or an error.
   */
  async latest<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const mine = ++this.seq;
    this.inFlight++;
    this.busy = true;
    try {
      const value = await fn();
      if (mine !== this.seq) return undefined;
      this.error = null;
      return value;
    } catch (e) {
      if (mine === this.seq) this.error = toAppError(e);
      return undefined;
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.busy = false;
    }
  }

  /** Shows an error found before calling (e.g. a field check). */
  fail(message: string, code = 'invalid_input'): void {
    this.error = { code, message };
  }

  clear(): void {
    this.error = null;
  }
}
