/**
 * Raw onnxruntime baselines for `npm run bench`: the same network evaluations as the served
 * workload, with the service's session options and nothing else. `sessions` sessions, each in its
 * own worker thread (bench/raw-worker.mjs) with `threads` intra-op threads:
 *  - rawThroughput: back-to-back batches side by side → images/s summed over sessions;
 *  - rawLatency: one image at a time, as one client sees it → ms per image.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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

export const layoutName = (l: RawLayout) => `${l.sessions} session${l.sessions > 1 ? 's' : ''} × ${l.threads} thread${l.threads > 1 ? 's' : ''}`;

/** A point of the raw sweep by name: layout and batch (images per call of each session). */
export const pointName = (l: RawLayout, batch: number) => `${layoutName(l)} batch ${batch}`;

type Reply = { loaded?: boolean; loadMs?: number; ready?: number; done?: unknown; error?: string };

/** Start `layout.sessions` raw sessions; inputs: latents in ±10 and, per image, its class row then (guided) the null-class row. */
async function startSessions(wl: RawWorkload, layout: RawLayout, maxRows: number, provider = 'cpu', loadMs?: number[]): Promise<Worker[]> {
  const n = wl.chw[0] * wl.chw[1] * wl.chw[2];
  const barrier = new SharedArrayBuffer(8);
  const workers = Array.from({ length: layout.sessions }, (_, rank) => {
    const r = rng(1 + rank);
    const x = new Float32Array(maxRows * n).map(() => (r() * 2 - 1) * 10);
    const labels = new BigInt64Array(maxRows).map((_, i) => BigInt(wl.rowsPerStep === 2 && i % 2 ? (wl.nullClass as number) : Math.floor(i / wl.rowsPerStep) % wl.numClasses));
    return new Worker(new URL('./raw-worker.mjs', import.meta.url), {
      workerData: { ...wl, n, threads: layout.threads, provider, x, labels, barrier, rank, size: layout.sessions, sessionModule: pathToFileURL(resolve('dist/engine/session.js')).href },
    });
  });
  try {
    const loaded = await Promise.all(workers.map((w) => reply(w, (m) => m.loaded === true)));
    loadMs?.push(...loaded.map((m) => m.loadMs ?? NaN));
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  return workers;
}

function reply(w: Worker, accept: (m: Reply) => boolean): Promise<Reply> {
  return new Promise((res, rej) => {
    const on = (m: Reply) => {
      if (m.error) return done(() => rej(new Error(m.error)));
      if (accept(m)) done(() => res(m));
    };
    const fail = (e: Error) => done(() => rej(e));
    const done = (f: () => void) => {
      w.off('message', on);
      w.off('error', fail);
      f();
    };
    w.on('message', on);
    w.on('error', fail);
  });
}

/**
 * Sends `cmd` to every session's worker and collects their `done` results; each batch size
 * starts on all sessions together ({ready: b} from all, then 'go' to all), so side-by-side
 * sessions always compete for the cores as the service's workers do.
 */
async function inLockstep<T>(workers: Worker[], cmd: Record<string, unknown>): Promise<T[]> {
  const ready = new Map<number, number>();
  const starter = (m: Reply) => {
    if (m.ready === undefined) return;
    const k = (ready.get(m.ready) ?? 0) + 1;
    ready.set(m.ready, k);
    if (k === workers.length) for (const o of workers) o.postMessage('go');
  };
  for (const w of workers) w.on('message', starter);
  try {
    return await Promise.all(
      workers.map((w) => {
        const p = reply(w, (m) => m.done !== undefined);
        w.postMessage(cmd);
        return p.then((m) => m.done as T);
      }),
    );
  } finally {
    for (const w of workers) w.off('message', starter);
  }
}

/** images/s by batch size (images per call of each session, all steps of them), summed over sessions. */
export async function rawThroughput(wl: RawWorkload, layout: RawLayout, batches: number[], seconds = 1.5, log?: (line: string) => void): Promise<Record<string, number>> {
  const workers = await startSessions(wl, layout, Math.max(...batches) * wl.rowsPerStep);
  try {
    const results = await inLockstep<Record<string, number>>(workers, { cmd: 'throughput', batches, rowsPerStep: wl.rowsPerStep, seconds });
    const out: Record<string, number> = {};
    for (const b of batches) {
      out[String(b)] = results.reduce((a, r) => a + r[String(b)], 0);
      log?.(`  raw ${layoutName(layout)}, batch ${b}: ${out[String(b)].toFixed(1)} images/s`);
    }
    return out;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * Milliseconds per image, one image at a time (as one client sees it), sorted. With one session
 * each step is one call of all the image's rows; with `rowsPerStep` single-threaded sessions
 * (split) each session runs one row of every step side by side — the two ways to run a lone
 * guided image. `gapMs`: an untimed idle pause before each image (see bench/raw-worker.mjs).
 */
export async function rawLatency(wl: RawWorkload, layout: RawLayout, images: number, gapMs = 0): Promise<number[]> {
  const split = layout.sessions > 1;
  if (split && layout.sessions !== wl.rowsPerStep) throw new Error('a split layout has one session per row of a step');
  const workers = await startSessions(wl, layout, wl.rowsPerStep);
  try {
    const results = await Promise.all(
      workers.map((w) => {
        const p = reply(w, (m) => m.done !== undefined);
        w.postMessage({ cmd: 'latency', rows: split ? 1 : wl.rowsPerStep, images, gapMs });
        return p.then((m) => m.done as number[]);
      }),
    );
    return results[0].sort((a, b) => a - b);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export interface RawRows {
  /** rows/s by batch size, summed over the sessions (each ran calls of that many rows side by side) */
  rowsPerS: Record<string, number>;
  /** milliseconds of each timed call, by batch size, every session's */
  callMs: Record<string, number[]>;
  /** session creation, ms, per session (they load side by side) */
  loadMs: number[];
}

/**
 * Rows/s of single network calls at each batch size (the real-size benchmark): each session runs
 * `calls` calls of `b` rows at σ side by side with the others, the first untimed (unless
 * calls = 1). Bounded by calls, not by time: one call of a 296M-parameter network takes seconds.
 */
export async function rawRows(wl: RawWorkload, layout: RawLayout, batches: number[], calls: number, sigma: number, provider = 'cpu'): Promise<RawRows> {
  const loadMs: number[] = [];
  const workers = await startSessions(wl, layout, Math.max(...batches), provider, loadMs);
  try {
    const results = await inLockstep<Record<string, { rowsPerS: number; ms: number[] }>>(workers, { cmd: 'rows', batches, calls, sigma });
    const rowsPerS: Record<string, number> = {};
    const callMs: Record<string, number[]> = {};
    for (const b of batches) {
      rowsPerS[String(b)] = results.reduce((a, r) => a + r[String(b)].rowsPerS, 0);
      callMs[String(b)] = results.flatMap((r) => r[String(b)].ms);
    }
    return { rowsPerS, callMs, loadMs };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
