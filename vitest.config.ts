import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["libs/**/*.spec.ts", "services/**/*.spec.ts", "mesh/**/*.spec.ts", "test/**/*.test.ts"],
    exclude: ["node_modules", "dist"],
    // One NATS and one Redis for the whole run, started (or found) here.
    globalSetup: ["./test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more forks only make every test slower.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
