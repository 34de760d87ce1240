/**
 * `npm run contract`: the full contract run — CONTRACT_N (default 2,500) schema-driven requests
 * straight to a live server (valid and broken) and CONTRACT_N schema-valid ones through Prism
 * (--errors), and CONTRACT_N / 5 to a server with API keys and a small rate limit (401, 429) —
 * against the tiny fixture, or MODELS_DIR. Prints the counts by operation and status
 * and every problem found, writes test-output/contract/report.json, and exits 1 on any problem.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../api/live.js';
import { fuzz, loadSpec, SPEC_PATH, type FuzzReport } from './fuzz.js';
import { prismVerdict, startPrism } from './prism.js';

const N = Number(process.env.CONTRACT_N ?? 2500);
const SEED = Number(process.env.FUZZ_SEED ?? 2026);
const MODELS_DIR = process.env.MODELS_DIR ?? 'test/fixtures/models';

const doc = loadSpec();
const models: string[] = [];
let classes: string[] = [];
for (const folder of ['tiny-rgb8', 'digits16']) {
  try {
    const m = JSON.parse(readFileSync(join(MODELS_DIR, folder, 'model.json'), 'utf8'));
    models.push(...m.graphs.map((g: { model: string }) => g.model));
    classes = m.classes;
  } catch {
    // not in this models folder
  }
}

const KEY = 'contract-run-key-0123456789';
const server = await startServer({ MODELS_DIR, RATE_LIMIT_MAX: '1000000', MAX_IMAGES: '4', QUEUE_LIMIT: '64' });
// keys on and a small rate limit, so 401 and 429 answers are checked as well
const keyed = await startServer({ MODELS_DIR, API_KEYS: KEY, RATE_LIMIT_MAX: '50', RATE_LIMIT_WINDOW_MS: '60000', MAX_IMAGES: '4', QUEUE_LIMIT: '64' });
const prism = await startPrism(SPEC_PATH, server.url);
const runs: Record<string, FuzzReport & { seconds: number }> = {};
try {
  for (const [name, base, o] of [
    ['direct (valid and broken requests)', server.url, { n: N, seed: SEED }],
    ['through Prism --errors (schema-valid requests)', prism.url, { n: N, seed: SEED + 1, validOnly: true, inspect: prismVerdict }],
    ['direct, API keys and a rate limit of 50 per minute', keyed.url, { n: Math.ceil(N / 5), seed: SEED + 2, apiKey: KEY }],
  ] as const) {
    const t0 = Date.now();
    runs[name] = { ...(await fuzz(base, doc, { models, classes }, o)), seconds: Math.round((Date.now() - t0) / 100) / 10 };
  }
} finally {
  await prism.stop();
  await server.close();
  await keyed.close();
}

let bad = 0;
for (const [name, r] of Object.entries(runs)) {
  console.log(`\n${name}: ${r.requests} requests (${r.valid} schema-valid) in ${r.seconds} s, ${r.problems} with problems`);
  console.log(
    `  by status:    ${Object.entries(r.byStatus)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ')}`,
  );
  for (const [op, statuses] of Object.entries(r.byOperation).sort())
    console.log(
      `  ${op.padEnd(26)} ${Object.entries(statuses)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ')}`,
    );
  for (const e of r.examples) console.log(`  ✗ ${e.status} ${e.problems.join('; ')}\n      ${e.request}`);
  bad += r.problems;
}
mkdirSync('test-output/contract', { recursive: true });
writeFileSync('test-output/contract/report.json', JSON.stringify({ seed: SEED, n: N, models, runs }, null, 2));
console.log(`\nwrote test-output/contract/report.json`);
process.exit(bad ? 1 : 0);
