// Shared scaffolding of the component tests: a fresh element per test to mount into, removed
// (and the component unmounted, the shell mocks cleared) after it, and a way to let Svelte and
// the mocked shell settle.
import { afterEach, beforeEach } from 'vitest';
import { flushSync, tick, unmount, type mount } from 'svelte';
import { clearMocks } from '@tauri-apps/api/mocks';

export interface Dom {
  target: HTMLElement;
  component: ReturnType<typeof mount> | null;
  /** The element with this `data-testid`, or null. */
  q(id: string): HTMLElement | null;
}

export function useDom(): Dom {
  const dom: Dom = {
    target: document.body,
    component: null,
    q: (id) => dom.target.querySelector<HTMLElement>(`[data-testid="${id}"]`),
  };
  beforeEach(() => {
    dom.target = document.createElement('div');
    document.body.appendChild(dom.target);
  });
  afterEach(() => {
    if (dom.component) unmount(dom.component);
    dom.component = null;
    dom.target.remove();
    clearMocks();
  });
  return dom;
}

/** Lets pending promises, timers of 0 ms and Svelte updates run. */
export async function settle() {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await tick();
  }
  flushSync();
}
