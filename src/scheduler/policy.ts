/**
 * Step-level (continuous) batching policy — pure functions, so the rules are testable apart from
 * the machinery. The model of the world: a list of lanes (one image each) in FIFO order (oldest
 * request first, then image index); a lane is either ready for its next network call or in
 * flight; a guided lane needs 2 rows (class + null class), an unguided lane 1.
 */

export interface LaneView {
  rows: 1 | 2;
  inFlight: boolean;
  /** request-level batching only: the batch the lane started in (0 = not started) */
  cohort?: number;
}

/**
 * - `step` (the service's mode): any lane may join any call; lanes join at the next call after
 *   admission and leave when their last step is done.
 * - `request` (classic static batching, kept for comparison in `npm run bench`): the lanes that
 *   start together (a cohort) run every step together; lanes of new requests wait until a
 *   cohort has finished, so a 1-step request admitted behind a 4-step batch waits for it. As in
 *   a static-batching server with one model instance per worker, up to `maxCohorts` cohorts
 *   (one per engine worker) are live at once.
 */
export type BatchingMode = 'step' | 'request';

/**
 * Which lanes may take part in the next call under `mode`. Request mode takes one group: the
 * oldest live cohort with lanes ready, else — when fewer than `maxCohorts` are live — new lanes
 * (which then form a cohort), else none.
 */
export function eligibility(lanes: readonly LaneView[], mode: BatchingMode, maxCohorts = 1): (l: LaneView) => boolean {
  if (mode === 'step') return () => true;
  const live = new Set<number>();
  let ready = 0;
  for (const l of lanes) {
    const c = l.cohort ?? 0;
    if (c === 0) continue;
    live.add(c);
    if (!l.inFlight && ready === 0) ready = c;
  }
  if (ready) return (l) => (l.cohort ?? 0) === ready;
  if (live.size < maxCohorts) return (l) => (l.cohort ?? 0) === 0;
  return () => false;
}

/**
 * Lanes for the next call (among the eligible ones, see `eligibility`): FIFO greedy — take ready lanes oldest first while their rows fit in
 * `maxRows`. A lane that no longer fits is passed over so a smaller one behind it can fill the
 * last row; the passed-over lane is still the oldest next time, so it cannot starve.
 * `ok` is `eligibility(lanes, mode, maxCohorts)`, passed in by a caller that already has it.
 * Returns positions in `lanes` and the total row count.
 */
export function planBatch(
  lanes: readonly LaneView[],
  maxRows: number,
  mode: BatchingMode = 'step',
  maxCohorts = 1,
  ok: (l: LaneView) => boolean = eligibility(lanes, mode, maxCohorts),
): { picked: number[]; rows: number } {
  const picked: number[] = [];
  let rows = 0;
  for (let i = 0; i < lanes.length && rows < maxRows; i++) {
    const l = lanes[i];
    if (l.inFlight || rows + l.rows > maxRows || !ok(l)) continue;
    picked.push(i);
    rows += l.rows;
  }
  return { picked, rows };
}

export interface DispatchState {
  /** rows the ready lanes would fill (capped at what one call can take is fine) */
  readyRows: number;
  /** when the oldest ready lane became ready (ms, same clock as now) */
  oldestReadyAt: number;
  now: number;
  /** a worker exists that can take another call */
  workerFree: boolean;
  /** that worker has nothing queued or running */
  workerIdle: boolean;
}

export interface DispatchKnobs {
  maxRows: number;
  maxWaitMs: number;
}

export type Decision = { action: 'dispatch' } | { action: 'wait'; ms: number } | { action: 'idle' };

/**
 * When to make the next network call:
 * - a full batch is ready → now (into the worker's queue if it is busy: pipelining, so the
 *   worker starts the next call without waiting for the main thread);
 * - a partial batch while the worker is busy → hold it: it cannot run sooner anyway, and lanes
 *   arriving or returning meanwhile make it fuller (the completion re-runs this decision);
 * - a partial batch with the worker idle → once the oldest ready lane has waited `maxWaitMs` for
 *   company (lanes returning from a call count as having waited already, see the scheduler);
 * - no worker can take a call → nothing until one completes.
 */
export function decide(s: DispatchState, k: DispatchKnobs): Decision {
  if (s.readyRows === 0 || !s.workerFree) return { action: 'idle' };
  if (s.readyRows >= k.maxRows) return { action: 'dispatch' };
  if (!s.workerIdle) return { action: 'idle' };
  const waited = s.now - s.oldestReadyAt;
  if (waited >= k.maxWaitMs) return { action: 'dispatch' };
  return { action: 'wait', ms: k.maxWaitMs - waited };
}

/** Admission: does a request of `images` lanes fit under the queue limit? */
export function admits(depth: number, images: number, queueLimit: number): boolean {
  return depth + images <= queueLimit;
}

/**
 * Retry-After (whole seconds, ≥ 1) for a 503: how long the lanes already queued take to drain
 * at the recent throughput (`rowsPerSecond`), each lane needing `rowsPerLane` rows in all.
 */
export function retryAfterSeconds(depth: number, rowsPerLane: number, rowsPerSecond: number): number {
  if (!(rowsPerSecond > 0)) return 1;
  return Math.max(1, Math.min(60, Math.ceil((depth * rowsPerLane) / rowsPerSecond)));
}
