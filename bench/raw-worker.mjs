// One raw onnxruntime session in its own worker thread, for the benchmark's baselines
// (bench/raw.ts): the service's session options (dist/engine/session.js) and nothing else — no
// HTTP, scheduler, sampler or encoding. Plain JavaScript, so the worker needs no TypeScript loader.
//
// Commands (one message each, answered with { done } or { error }):
//  - throughput {batches, rowsPerStep, seconds}: back-to-back calls of each batch size (images per
//    call × rowsPerStep rows, one call per σ of the workload); every session starts a size together
//    ({ready} → 'go') and runs for the same wall-clock budget → images/s per batch size;
//  - latency {rows, images, gapMs}: one image at a time, each step one call of `rows` rows; sessions
//    of a split layout run their rows side by side and meet at a barrier after every step (Atomics
//    on shared memory: the cheapest hand-off two threads have) → milliseconds per image (rank 0).
//    With gapMs every session sleeps that long between images (untimed), as a service's sessions
//    idle between one client's requests while the answer travels and the next request comes in;
//  - rows {batches, calls, sigma}: for each batch size, `calls` calls of that many rows at σ (the
//    first untimed unless there is only one), every session starting a size together → rows/s of
//    this session and the timed calls' milliseconds (the real-size benchmark, where one call
//    takes seconds and a time budget per size would be meaningless).
import { parentPort, workerData as w } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';

const { contractFeeds, sessionOptions } = await import(w.sessionModule);
ort.env.logLevel = 'error';
const t0load = performance.now();
const s = await ort.InferenceSession.create(w.graphPath, sessionOptions(w.provider ?? 'cpu', w.threads));
const loadMs = performance.now() - t0load;
const ctl = new Int32Array(w.barrier);

/** Sense-reversing barrier over [count, generation] for `w.size` threads. */
function barrier() {
  if (w.size === 1) return;
  const gen = Atomics.load(ctl, 1);
  if (Atomics.add(ctl, 0, 1) === w.size - 1) {
    Atomics.store(ctl, 0, 0);
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  } else while (Atomics.load(ctl, 1) === gen) Atomics.wait(ctl, 1, gen);
}

const feedsFor = (rows, offset = 0) =>
  w.sigmas.map((sg) => contractFeeds(ort.Tensor, rows, w.chw, w.x.subarray(offset * w.n), new Float32Array(rows).fill(sg), w.labels.subarray(offset)));

async function throughput({ batches, rowsPerStep, seconds }) {
  const out = {};
  for (const b of batches) {
    const feeds = feedsFor(b * rowsPerStep);
    for (let i = 0; i < 2; i++) for (const f of feeds) await s.run(f);
    parentPort.postMessage({ ready: b });
    await new Promise((r) => parentPort.once('message', r));
    const t0 = performance.now();
    let iters = 0;
    while (iters < 3 || performance.now() - t0 < seconds * 1000) {
      for (const f of feeds) await s.run(f);
      iters++;
    }
    out[b] = (b * iters) / ((performance.now() - t0) / 1000);
  }
  return out;
}

const nap = new Int32Array(new SharedArrayBuffer(4));

async function latency({ rows, images, gapMs = 0 }) {
  // rank r of a split layout runs row r of each step (class row, null-class row)
  const feeds = feedsFor(rows, w.rank * rows);
  for (let i = 0; i < 20; i++) for (const f of feeds) await s.run(f);
  const times = [];
  for (let k = 0; k < images; k++) {
    if (gapMs > 0) Atomics.wait(nap, 0, 0, gapMs);
    barrier();
    const t0 = performance.now();
    for (const f of feeds) {
      await s.run(f);
      barrier();
    }
    times.push(performance.now() - t0);
  }
  return times;
}

async function rows({ batches, calls, sigma }) {
  const out = {};
  for (const b of batches) {
    const feeds = contractFeeds(ort.Tensor, b, w.chw, w.x, new Float32Array(b).fill(sigma), w.labels);
    parentPort.postMessage({ ready: b });
    await new Promise((r) => parentPort.once('message', r));
    const ms = [];
    for (let k = 0; k < calls; k++) {
      const t = performance.now();
      await s.run(feeds);
      if (k > 0 || calls === 1) ms.push(performance.now() - t);
    }
    const mean = ms.reduce((a, v) => a + v, 0) / ms.length;
    out[b] = { rowsPerS: b / (mean / 1000), ms };
  }
  return out;
}

parentPort.on('message', async (m) => {
  if (m === 'go' || !m.cmd) return;
  try {
    const done = m.cmd === 'throughput' ? await throughput(m) : m.cmd === 'latency' ? await latency(m) : m.cmd === 'rows' ? await rows(m) : null;
    if (m.cmd === 'close') await s.release();
    parentPort.postMessage({ done });
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.stack) || e) });
  }
});
parentPort.postMessage({ loaded: true, loadMs });
