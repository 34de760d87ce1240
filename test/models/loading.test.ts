/**
 * Loading a big graph never blocks: with a graph of 256 MiB of weights (external data, written by
 * test/tools/onnx-writer.ts into a temporary folder) loading beside the tiny fixture, the server —
 * listening on 127.0.0.1 — answers /healthz and serves the tiny model while the big one's session
 * is created (in a worker thread) and warmed up; its files' SHA-256 checks, streamed, leave the
 * event loop running (timer ticks keep coming while they run).
 * Then the big graph is ready, in the automatic layout for a big graph: one session over every
 * core (src/engine/layout.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { BIG_GRAPH_BYTES } from '../../src/engine/layout.js';
import { verifyGraphFiles } from '../../src/models/external-data.js';
import { ManifestSchema } from '../../src/models/manifest.js';
import { TINY, sleep } from '../helpers.js';
import { testConfig } from '../test-config.js';
import { contractModelFolder } from '../tools/onnx-writer.js';

// 192 inputs × 350,000 float32 columns = 268.8 MB, just past BIG_GRAPH_BYTES
const WIDTH = 350_000;

describe('a big graph loads without blocking the service', () => {
  let root: string;
  let app: FastifyInstance;
  let base: string;
  let bigBytes = 0;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'jfdl-big-'));
    cpSync(TINY, join(root, 'tiny-rgb8'), { recursive: true });
    bigBytes = (await contractModelFolder(root, 'big', { width: WIDTH, external: true })).bytes;
    app = await buildApp(testConfig({ MODELS_DIR: root, EXECUTION_PROVIDERS: 'cpu' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('the SHA-256 checks of the big graph\'s files leave the event loop running', async (t) => {
    const g = ManifestSchema.parse(JSON.parse(readFileSync(join(root, 'big', 'model.json'), 'utf8'))).graphs[0];
    let ticks = 0;
    let last = performance.now();
    let gap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
      ticks++;
    }, 5);
    const t0 = performance.now();
    const { bytes } = await verifyGraphFiles(join(root, 'big', 'cm.onnx'), g);
    clearInterval(timer);
    t.diagnostic(`${(bytes / 2 ** 20).toFixed(0)} MiB checked in ${(performance.now() - t0).toFixed(0)} ms; ${ticks} timer ticks meanwhile, longest gap ${gap.toFixed(0)} ms`);
    assert.equal(bytes, bigBytes);
    assert.ok(ticks >= 5, `${ticks} ticks`);
  });

  test('healthz answers and the tiny model serves while the big graph loads; then the big one serves, one session over all cores', async (t) => {
    assert.ok(bigBytes >= BIG_GRAPH_BYTES, `the test graph is ${bigBytes} bytes`);
    const loading = app.registry.loadAll();
    const big = () => app.registry.get('big');
    const t0 = performance.now();
    while (app.registry.get('tiny-rgb8')?.status !== 'ready') {
      assert.notEqual(app.registry.get('tiny-rgb8')?.status, 'error', app.registry.get('tiny-rgb8')?.error);
      if (performance.now() - t0 > 120_000) assert.fail('the tiny model did not load');
      await sleep(20);
    }
    // what the big graph was doing when each answer came back
    const stage = () => {
      const e = big();
      if (!e || e.status !== 'loading') return e?.status ?? 'absent';
      return e.graphBytes === undefined ? 'checking files' : e.load === undefined ? 'creating its session' : 'warming up';
    };
    const answered: Array<{ what: string; status: number; ms: number; stage: string }> = [];
    for (let i = 0; big()?.status === 'loading' && i < 2000; i++) {
      for (const [what, req] of [
        ['healthz', () => fetch(`${base}/healthz`)],
        ['generate', () => fetch(`${base}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny-rgb8', class: i % 4, seed: i }) })],
      ] as const) {
        const t1 = performance.now();
        const res = await req();
        await res.arrayBuffer();
        const s = stage();
        // counted only if the big graph was still loading when the answer arrived
        if (!['ready', 'error'].includes(s)) answered.push({ what, status: res.status, ms: performance.now() - t1, stage: s });
      }
    }
    await loading;
    const during = (what: string) => answered.filter((a) => a.what === what);
    for (const what of ['healthz', 'generate']) {
      const a = during(what);
      const stages = [...new Set(a.map((x) => x.stage))];
      t.diagnostic(`${what} while the big graph loaded: ${a.length} answers (${stages.join(', ')}), slowest ${Math.max(...a.map((x) => x.ms)).toFixed(0)} ms`);
      assert.ok(a.length >= 3, `${what}: ${a.length} answers while the big graph loaded`);
      assert.ok(a.every((x) => x.status === 200), `${what}: ${a.map((x) => x.status).join(',')}`);
    }

    const e = big() ?? assert.fail('big not listed');
    assert.equal(e.status, 'ready', e.error);
    assert.equal(e.graphBytes, bigBytes);
    assert.equal(e.load?.workers, 1);
    assert.equal(e.load?.intraOpThreads, availableParallelism());
    const res = await fetch(`${base}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'big', class: 'a', seed: 1 }) });
    assert.equal(res.status, 200);
  });
});
