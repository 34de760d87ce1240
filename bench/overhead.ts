/**
 * `npm run bench:overhead`: what one network call costs between the scheduler and the workers,
 * piece by piece, for the model under test (bench/workload.ts) at a lone guided request's call
 * (2 rows; split: 1 row) and at a saturated call (the target batch, 32 rows):
 *
 *  1. the thread hop: a worker round trip carrying the call's buffers (postMessage with the
 *     buffers transferred, no session) — the floor of any call on a worker thread;
 *  2. the output: session.run allocating its output (what the service did before) vs writing
 *     into the caller's pre-allocated buffer (what it does now), in the calling thread;
 *  3. the engine: Engine.run's round trip minus the worker-side run time it reports (messages,
 *     promise, buffer hand-back);
 *  4. the main thread's work per call: packing the rows, delivering the outputs and stepping the
 *     lanes (src/scheduler/pack.ts, src/sampler/lane.ts);
 *  5. waking the main thread: a worker round trip after the worker computed for as long as a
 *     lone call (2 ms) or a 32-row call (36 ms), minus that work.
 *
 * Each figure is the median over `REPS` repetitions of a timed loop; run it on an idle machine.
 */
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { batchBuffers, Engine, transferList } from '../src/engine/index.js';
import { contractFeeds, sessionOptions } from '../src/engine/session.js';
import { laneScratch, startLane, stepLane, type LaneSpec } from '../src/sampler/lane.js';
import { deliverRows, packRows, type CallRows } from '../src/scheduler/pack.js';
import type { Lane } from '../src/scheduler/queue.js';
import { workload } from './workload.js';

const REPS = 7;
const w = workload();
const [C, H, W] = w.raw.chw;
const n = C * H * W;
const sizes = [2, 1, 32];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** µs per iteration of `f`, median of REPS loops of `iters`. */
async function time(iters: number, f: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(200, iters); i++) await f();
  const out: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) await f();
    out.push(((performance.now() - t0) / iters) * 1000);
  }
  return median(out);
}

const rows: Array<Record<string, string | number>> = [];
const add = (what: string, r: number, us: number, note = '') => {
  rows.push({ what, rows: r, us: Math.round(us * 10) / 10, note });
  console.log(`${what.padEnd(58)} ${String(r).padStart(3)} rows ${us.toFixed(1).padStart(8)} µs  ${note}`);
};

// 1. the thread hop
{
  const echo = new Worker(
    `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m, [m.x.buffer, m.sigma.buffer, m.labels.buffer, m.out.buffer]));`,
    { eval: true },
  );
  for (const r of sizes) {
    let b = batchBuffers(r, n);
    const us = await time(
      2000,
      () =>
        new Promise<void>((res) => {
          echo.once('message', (m) => {
            b = m;
            res();
          });
          echo.postMessage({ type: 'run', id: 1, rows: r, chw: w.raw.chw, ...b }, transferList(b));
        }),
    );
    add('1. worker round trip, buffers transferred (no session)', r, us);
  }
  await echo.terminate();
}

// 2. the output: allocated by onnxruntime vs written into the caller's buffer
{
  const s = await ort.InferenceSession.create(w.raw.graphPath, sessionOptions('cpu', 1));
  const outName = s.outputNames[0];
  for (const r of sizes) {
    const b = batchBuffers(r, n);
    b.x.fill(0.5);
    b.sigma.fill(w.sigmas[0]);
    const feeds = contractFeeds(ort.Tensor, r, w.raw.chw, b.x, b.sigma, b.labels);
    const iters = r > 8 ? 200 : 1000;
    const alloc = await time(iters, () => s.run(feeds));
    const pre = await time(iters, () => s.run(feeds, { [outName]: new ort.Tensor('float32', b.out.subarray(0, r * n), [r, C, H, W]) }));
    add('2a. session.run, output allocated by onnxruntime (before)', r, alloc);
    add("2b. session.run, output into the caller's buffer (now)", r, pre, `${(alloc - pre).toFixed(1)} µs saved`);
  }
  await s.release();
}

// 3. the engine's hop: Engine.run round trip minus the worker-side run time
{
  const engine = new Engine({ graphPath: w.raw.graphPath, providers: ['cpu'], intraOpThreads: 1, workers: 1 });
  await engine.load();
  for (const r of sizes) {
    let b = batchBuffers(r, n);
    b.sigma.fill(w.sigmas[0]);
    const run: number[] = [];
    const total = await time(r > 8 ? 200 : 1000, async () => {
      const o = await engine.run(0, r, w.raw.chw, b);
      b = o.buffers;
      run.push(o.runMs);
    });
    const worker = median(run) * 1000;
    add('3. Engine.run round trip', r, total, `worker-side run ${worker.toFixed(1)} µs → hop ${(total - worker).toFixed(1)} µs`);
  }
  await engine.close();
}

// 4. main-thread work per call: pack + deliver + step
{
  for (const r of sizes) {
    const lanes: Lane[] = [];
    const parts: number[] = [];
    for (let i = 0; lanes.length < r; i++) {
      const spec: LaneSpec = { sigmas: w.sigmas, sigmaMin: w.m.manifest.sigma.min, guidance: w.guidance, sampler: 'ode', clamp: true, seed: 1, index: i };
      const job = { labels: [3n, BigInt(w.raw.nullClass ?? 0)], done: false } as unknown as Lane['job'];
      const lane = {
        job,
        spec,
        rows: r === 1 ? 1 : 2,
        next: 0,
        pending: 0,
        readyAt: 0,
        step: 0,
        x: startLane(spec, n),
        partial: null,
        partialPart: -1,
      } as Lane;
      for (let p = 0; p < lane.rows && lanes.length < r; p++) {
        lanes.push(lane);
        parts.push(p);
      }
    }
    const call: CallRows = { lanes, parts };
    const b = batchBuffers(r, n);
    const out = new Float32Array(r * n).fill(0.25);
    const scratch = laneScratch(n);
    const pixels = new Uint8Array(n);
    const us = await time(2000, () => {
      for (const l of lanes) l.pending += 1;
      packRows(call, b, n);
      deliverRows(call, out, n, (lane, dC, dU) => {
        stepLane(lane.spec, 0, lane.x, dC, dU, pixels, scratch);
      });
    });
    add('4. main thread: pack + deliver + lane step', r, us, `${(us / r).toFixed(2)} µs per row`);
  }
}
// 5. waking the main thread: a worker that computes for as long as a call (a busy loop, no
// session) before it answers. The main thread sleeps in its event loop meanwhile; the longer it
// has slept, the longer it takes to run again (on this VM: the vCPU halts when idle), which is
// why the hop of piece 3 grows with the call's duration rather than with its rows.
{
  const busy = new Worker(
    `const { parentPort } = require('node:worker_threads'); parentPort.on('message', (ms) => { const t = performance.now(); while (performance.now() - t < ms); parentPort.postMessage(performance.now() - t); });`,
    { eval: true },
  );
  const ask = (ms: number) =>
    new Promise<number>((res) => {
      busy.once('message', res);
      busy.postMessage(ms);
    });
  for (const ms of [0, 2, 36]) {
    const iters = ms > 10 ? 40 : 300;
    const extra: number[] = [];
    for (let i = 0; i < iters + 10; i++) {
      const t = performance.now();
      const worked = await ask(ms);
      if (i >= 10) extra.push((performance.now() - t - worked) * 1000);
    }
    add(
      `5. worker round trip after ${ms} ms of work, minus the work`,
      0,
      median(extra),
      `p90 ${[...extra].sort((a, b) => a - b)[Math.floor(extra.length * 0.9)].toFixed(1)} µs`,
    );
  }
  await busy.terminate();
}
console.log(JSON.stringify({ model: w.m.graph.model, n, rows }, null, 1));
