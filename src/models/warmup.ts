/**
 * Warm-up of a loaded graph: every worker runs calls of growing batch sizes, side by side as at
 * saturation, so the first request does not pay for lazy allocation and kernel selection, the
 * graph is proven to run and to give finite outputs of the right size — and the rows/s of each
 * size is measured, from which the scheduler takes its batch target (src/scheduler/batch-size.ts)
 * and the per-row cost of the model.
 *
 * Bounded in time: a size runs once untimed and then REPEATS timed calls; the next size is
 * skipped when its projected time would overrun `budgetMs` (sizes not measured are not chosen). A 16×16 network profiles
 * 1…64 rows in a fraction of a second; a network that takes seconds per row stops after a few
 * rows instead of taking minutes.
 */
import { performance } from 'node:perf_hooks';
import type { BatchBuffers, RunOutput } from '../engine/index.js';
import { gaussianNoise } from '../sampler/philox.js';
import { profileSizes, targetRows, type ProfilePoint } from '../scheduler/batch-size.js';

export interface WarmupTarget {
  workerCount: number;
  run(worker: number, rows: number, chw: [number, number, number], buffers: BatchBuffers): Promise<RunOutput>;
}

export interface WarmupReport {
  profile: ProfilePoint[];
  /** the batch target for the scheduler (rows per call) */
  targetRows: number;
  /** wall time of a 1-row call, every worker busy with one (ms): the model's unit of cost */
  msPerRow: number;
  wallMs: number;
}

/** timed repeats per size after its untimed first call; the fastest counts (the least disturbed) */
const REPEATS = 3;

export async function warmUp(engine: WarmupTarget, chw: [number, number, number], sigma: number, maxRows: number, budgetMs: number): Promise<WarmupReport> {
  const t0 = performance.now();
  const n = chw[0] * chw[1] * chw[2];
  // x = σ·z with fixed Philox noise: inputs the network sees in service, the same every start
  const x = new Float32Array(maxRows * n);
  for (let r = 0; r < maxRows; r++) x.set(gaussianNoise(0, r, 0, n).map((v) => v * sigma), r * n);
  const buffers = (rows: number): BatchBuffers => ({ x: x.slice(0, rows * n), sigma: new Float32Array(rows).fill(sigma), labels: new BigInt64Array(rows), out: new Float32Array(rows * n) });
  const all = async (rows: number) => {
    const t = performance.now();
    const outs = await Promise.all(Array.from({ length: engine.workerCount }, (_, w) => engine.run(w, rows, chw, buffers(rows))));
    for (const o of outs) {
      if (o.out.length !== rows * n) throw new Error(`graph output has ${o.out.length} values for ${rows} rows, expected ${rows * n}`);
      for (let k = 0; k < o.out.length; k++) if (!Number.isFinite(o.out[k])) throw new Error('graph output is not finite at warm-up');
    }
    return performance.now() - t;
  };
  const profile: ProfilePoint[] = [];
  let msPerRow = NaN;
  let lastMs = 0;
  for (const rows of profileSizes(maxRows)) {
    const left = budgetMs - (performance.now() - t0);
    // the first size always runs (it is the correctness check); a later one only when its
    // untimed call and its repeats fit, projected from the last size's time per row
    if (profile.length && lastMs * (rows / profile[profile.length - 1].rows) * (1 + REPEATS) > left) break;
    const first = await all(rows);
    // a model too slow for repeats within the budget is timed by its first call alone
    const reps = profile.length === 0 && first * (1 + REPEATS) > left ? 0 : REPEATS;
    let best = first;
    for (let k = 0; k < reps; k++) best = Math.min(best, await all(rows));
    lastMs = best;
    profile.push({ rows, rowsPerS: (rows * engine.workerCount) / (best / 1000) });
    if (rows === 1) msPerRow = best;
  }
  return { profile, targetRows: targetRows(profile, maxRows), msPerRow, wallMs: performance.now() - t0 };
}
