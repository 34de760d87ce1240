/**
 * The batch size the scheduler aims for, from a throughput profile measured at warm-up
 * (src/models/warmup.ts). Rows per second rise with the batch while per-call overheads are
 * amortised, then flatten or fall once a batch's activations leave the caches (digits16 on one
 * single-threaded CPU session peaks near 32 rows — README "Benchmarks"). Aiming at the peak
 * instead of MAX_BATCH keeps a saturated service at the engine's best throughput; aiming at the
 * smallest batch within `tolerance` of the peak keeps latency down for nearly the same rate.
 *
 * The tolerance is 1 %: the profile times single calls of a session, and misses what the service
 * pays per call on top (the hand-offs, the main thread's dispatch and completion). With 3 %,
 * digits16 started with a 16-row target on some starts (the 05:22 `npm run bench` and two
 * `npm run bench:ceiling` runs on 2026-12-02), and at 64 clients 16-row calls served fewer
 * images/s than 32-row ones in 3 of 4 interleaved pairs (32 vs 16 rows: 306/294, 328/302,
 * 324/310, 292/294 requests/s), while 32 and 64 rows were level (364/335, 306/314, 334/340,
 * 372/372).
 */

export interface ProfilePoint {
  /** rows per call */
  rows: number;
  /** rows per second over all workers running that size side by side */
  rowsPerS: number;
}

/** The smallest measured batch whose throughput is within `tolerance` of the best, or `fallback` when nothing was measured. */
export function targetRows(profile: readonly ProfilePoint[], fallback: number, tolerance = 0.01): number {
  const ok = profile.filter((p) => Number.isFinite(p.rowsPerS) && p.rowsPerS > 0);
  if (!ok.length) return fallback;
  const best = Math.max(...ok.map((p) => p.rowsPerS));
  return Math.min(...ok.filter((p) => p.rowsPerS >= (1 - tolerance) * best).map((p) => p.rows));
}

/** Batch sizes to profile: powers of two up to `maxRows`, and `maxRows` itself. */
export function profileSizes(maxRows: number): number[] {
  const out: number[] = [];
  for (let r = 1; r < maxRows; r *= 2) out.push(r);
  out.push(maxRows);
  return out;
}
