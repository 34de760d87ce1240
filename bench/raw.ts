/**
 * Raw onnxruntime for `npm run bench`: the same network evaluations as the served workload, with
 * the service's session options and nothing else — no HTTP, scheduler, sampler or encoding.
 * `sessions` sessions, each in its own worker thread with `threads` intra-op threads, run
 * back-to-back batches concurrently (one session × all cores is the classic layout; one
 * single-threaded session per core is the service's CPU default, src/engine/layout.ts); the
 * images/s of all sessions are summed.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { rng } from '../loadtest/common.js';

export interface RawWorkload {
  graphPath: string;
  chw: [number, number, number];
  /** σ of each step of one image */
  sigmas: number[];
  /** rows per image and step: 2 guided (class, null class), 1 unguided */
  rowsPerStep: 1 | 2;
  numClasses: number;
  nullClass: number | null;
}

export interface RawLayout {
  sessions: number;
  threads: number;
}

// The worker is plain JavaScript over the compiled session module (the bench builds first), so
// it needs no TypeScript loader inside the worker thread.
const WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
(async () => {
  const ort = require('onnxruntime-node');
  const { contractFeeds, sessionOptions } = await import(w.sessionModule);
  ort.env.logLevel = 'error';
  const s = await ort.InferenceSession.create(w.graphPath, sessionOptions('cpu', w.threads));
  const out = {};
  for (const b of w.batches) {
    const rows = b * w.rowsPerStep;
    const feeds = w.sigmas.map((sg) => contractFeeds(ort.Tensor, rows, w.chw, w.x, new Float32Array(rows).fill(sg), w.labels));
    for (let i = 0; i < 2; i++) for (const f of feeds) await s.run(f);
    // all sessions start a batch size together and stop on the same wall-clock budget
    parentPort.postMessage({ ready: b });
    await new Promise((r) => parentPort.once('message', r));
    const t0 = performance.now();
    let iters = 0;
    while (iters < 3 || performance.now() - t0 < w.seconds * 1000) {
      for (const f of feeds) await s.run(f);
      iters++;
    }
    out[b] = (b * iters) / ((performance.now() - t0) / 1000);
  }
  await s.release();
  parentPort.postMessage({ done: out });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

/** images/s by batch size (images per call of each session, all steps of them), summed over sessions. */
export async function measureRaw(wl: RawWorkload, layout: RawLayout, batches: number[], seconds = 1.5, log?: (line: string) => void): Promise<Record<string, number>> {
  const sessionModule = pathToFileURL(resolve('dist/engine/session.js')).href;
  // inputs for the largest batch (smaller ones use a prefix): latents in ±10, and per image its
  // class row followed, when guided, by the null-class row
  const N = wl.chw[0] * wl.chw[1] * wl.chw[2];
  const maxRows = Math.max(...batches) * wl.rowsPerStep;
  const workers = Array.from({ length: layout.sessions }, (_, index) => {
    const r = rng(1 + index);
    const x = new Float32Array(maxRows * N).map(() => (r() * 2 - 1) * 10);
    const labels = new BigInt64Array(maxRows).map((_, i) => BigInt(wl.rowsPerStep === 2 && i % 2 ? (wl.nullClass as number) : Math.floor(i / wl.rowsPerStep) % wl.numClasses));
    return new Worker(WORKER, { eval: true, workerData: { ...wl, threads: layout.threads, batches, seconds, x, labels, sessionModule } });
  });
  const results: Array<Record<string, number>> = [];
  try {
    await new Promise<void>((res, rej) => {
      const ready = new Map<number, number>();
      for (const w of workers) {
        w.on('error', rej);
        w.on('message', (m: { ready?: number; done?: Record<string, number>; error?: string }) => {
          if (m.error) return rej(new Error(m.error));
          if (m.done) {
            results.push(m.done);
            if (results.length === workers.length) res();
            return;
          }
          if (m.ready !== undefined) {
            const k = (ready.get(m.ready) ?? 0) + 1;
            ready.set(m.ready, k);
            if (k === workers.length) for (const o of workers) o.postMessage('go');
          }
        });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const out: Record<string, number> = {};
  for (const b of batches) {
    out[String(b)] = results.reduce((a, r) => a + r[String(b)], 0);
    log?.(`  raw ${layout.sessions} session(s) × ${layout.threads} thread(s), batch ${b}: ${out[String(b)].toFixed(1)} images/s`);
  }
  return out;
}
