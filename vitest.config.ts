import { configDefaults, defineConfig } from 'vitest/config';

// Unit tests run in parallel; integration tests start real redis-server, gate and logic
// processes, so their files run one at a time to keep a 2-core machine honest.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/integration/operator/**'],
          globalSetup: ['test/support/global-redis.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Against a real kube-apiserver + etcd (test/support/global-control-plane.ts), built from
        // their Go modules on first use; every file shares it and works in namespaces of its own.
        test: {
          name: 'operator',
          include: ['test/integration/operator/**/*.test.ts'],
          globalSetup: ['test/support/global-redis.ts', 'test/support/global-control-plane.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // `make faults`: issue 12's fault suite (test/faults) — each file starts a Redis Cluster of
        // its own, real gates and logic nodes and a load of real clients, and kills things.
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        // `make soak` (never in CI): test/soak, minutes of load with churn and rotating faults.
        test: {
          name: 'soak',
          include: ['test/soak/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 3_600_000,
          hookTimeout: 120_000,
        },
      },
      {
        // `make e2e` (not `make test`): the whole system as pods — the operator included, in
        // cluster with its ServiceAccount — on a control plane with the workload controllers and
        // kube-scheduler (test/support/e2e/global-e2e.ts) and the test node agent.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/e2e/global-e2e.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
