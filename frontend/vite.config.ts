import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// Django serves the build: dist/index.html for the app's routes and dist/assets under /static/.
// The dev server keeps '/' so that the app's routes (/graph, /traces, ...) load directly.
export default defineConfig(({ command }) => ({
  base: command === 'build' ? '/static/' : '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npm run dev` beside a local meshview listening on :8000.
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/jaeger': 'http://127.0.0.1:8000',
      '/ws': { target: 'ws://127.0.0.1:8000', ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
}));
