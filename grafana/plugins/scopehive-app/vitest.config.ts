import { defineConfig } from 'vitest/config';

// The pages' unit tests (React Testing Library in jsdom); the root `npm test` runs them through
// test/plugin/unit.test.ts.
export default defineConfig({
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['./src/testing/setup.ts'],
    testTimeout: 30_000,
    pool: 'threads',
    maxWorkers: 2,
    minWorkers: 1,
  },
});
