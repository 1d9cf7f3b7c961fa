import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Engine tests load tfjs + models per file: keep files in separate forks, two at a time (2-core machines).
    pool: 'forks',
    maxWorkers: 2,
  },
});
