import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The window is a Tauri 2 webview (WebKitGTK on Linux): everything is bundled, loaded from
// relative paths, no dev server or remote resources are needed for the product.
export default defineConfig({
  plugins: [svelte()],
  // Tests mount components in happy-dom: use Svelte's client build, not its server build.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  base: './',
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // One small app: no code splitting needed, and no inline module-preload polyfill.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  test: {
    environment: 'happy-dom',
    include: ['tests/**/*.test.ts'],
  },
});
