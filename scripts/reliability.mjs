#!/usr/bin/env node
// `npm run reliability [-- --soak-s 60 --fuzz 10000 --overload-s 30 --aborts 1000 --json out.json]`:
// the longer reliability runs (test/reliability/run.ts) and their summary table. The CI-sized
// versions are ordinary tests under test/reliability/ and run with `npm test`.
import { spawnSync } from 'node:child_process';

const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/reliability/run.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
});
process.exit(r.status ?? 1);
