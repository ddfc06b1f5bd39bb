// Two projects: `unit` (files named *.unit.test.ts, anywhere under test/) needs no server and has no
// global set-up; `servers` (every other test file) runs against the real Temporal, Redis and moto
// that its global set-up starts. Jest runs a project's global set-up only when one of its files
// runs, so `npm run test:unit` (--selectProjects unit) starts no server; `npm test` runs both.
const unitTest = String.raw`\.unit\.test\.ts$`;

/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  modulePathIgnorePatterns: ['<rootDir>/.tools', '<rootDir>/.data', '<rootDir>/cdk.out'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['**/*.unit.test.ts'] },
    {
      ...shared,
      displayName: 'servers',
      // Unit tests do without: loading Temporal's worker costs every test file time.
      setupFiles: ['<rootDir>/test/support/quietTemporal.ts'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', unitTest],
      globalSetup: '<rootDir>/test/support/globalSetup.ts',
      globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
    },
  ],
  // Two cores: two test files at a time, each talking to the shared real servers.
  maxWorkers: 2,
  testTimeout: 60_000,
  // Temporal's native runtime releases its log thread after jest's one-second exit check.
  forceExit: true,
};
