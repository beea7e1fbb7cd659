import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Node's process warnings (and the tool's one line on Node 20) stay out of the test log; the start-up test checks that line itself.
    env: { AWS_EC2_METADATA_DISABLED: 'true', NODE_NO_WARNINGS: '1' },
  },
});
