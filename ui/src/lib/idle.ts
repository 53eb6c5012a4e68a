// The UI's idle lock. After `idleMs` without keyboard or mouse activity it calls `onIdle`
// (the app then calls `lock()` and shows the lock screen). Activity is also reported to the
// Rust side through `onTouch`, at most once per `touchEveryMs`, so both sides agree on when
// the user was last active. Rust enforces the same idle time on its own.

export interface IdleTimerOptions {
  idleMs: number;
  onIdle: () => void;
  onTouch?: () => void;
  /** Minimum time between two `onTouch` calls (default 20 s). */
  touchEveryMs?: number;
  now?: () => number;
}

/** The DOM events that count as activity. */
export const ACTIVITY_EVENTS = ['keydown', 'mousedown', 'mousemove', 'wheel', 'touchstart'] as const;

export class IdleTimer {
  private readonly idleMs: number;
  private readonly touchEveryMs: number;
  private readonly onIdle: () => void;
  private readonly onTouch?: () => void;
  private readonly now: () => number;
  private lastActivity = 0;
  private lastTouch = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;

  constructor(o: IdleTimerOptions) {
    this.idleMs = Math.max(1000, o.idleMs);
    this.touchEveryMs = o.touchEveryMs ?? 20_000;
    this.onIdle = o.onIdle;
    this.onTouch = o.onTouch;
    this.now = o.now ?? (() => Date.now());
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts counting from now. Starting the session counts as activity, but is no touch. */
  start(): void {
    this.stop();
    this.running = true;
    this.lastActivity = this.now();
    this.lastTouch = this.lastActivity;
    this.schedule(this.idleMs);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * A key press or mouse move. Cheap enough for every `mousemove`: it only notes the time;
   * the pending timeout checks it when it fires and waits for the rest.
   */
  activity(): void {
    if (!this.running) return;
    const now = this.now();
    this.lastActivity = now;
    if (this.onTouch && now - this.lastTouch >= this.touchEveryMs) {
      this.lastTouch = now;
      this.onTouch();
    }
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms);
  }

  private check(): void {
    this.timer = null;
    if (!this.running) return;
    const idleFor = this.now() - this.lastActivity;
    if (idleFor >= this.idleMs) {
      this.running = false;
      this.onIdle();
    } else {
      this.schedule(this.idleMs - idleFor);
    }
  }
}
