/**
 * Step-level (continuous) batching policy — pure functions over plain data, so every rule is
 * testable apart from the machinery (./index.ts applies them).
 *
 * The model of the world: lanes (one image each) in FIFO order (oldest request first, then image
 * index). At its current step a lane needs `rows` network rows — 2 for a guided lane (its class
 * and the null class), 1 otherwise — called its parts (part 0 = class row, part 1 = null-class
 * row). A part is sent in some call and its output comes back; the lane moves on when all its
 * parts are back. Workers (one onnxruntime session each) take up to `depth` calls queued.
 */

export interface LaneView {
  rows: 1 | 2;
  /** the next part of this step not yet sent (rows = all sent) */
  next: number;
  /** parts sent whose output has not come back */
  pending: number;
  /** when the lane became ready (ms); −∞ for a lane back from a call (it has waited already) */
  readyAt: number;
  /** request-level batching only: the batch the lane started in (0 = not started) */
  cohort?: number;
}

export interface WorkerView {
  /** calls queued or running */
  inFlight: number;
  /** loaded and alive */
  ready: boolean;
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
 * How a partial batch with an idle worker is treated:
 * - `adaptive` (default): it waits for company only while the measured arrival rate says
 *   another request is due within the remaining wait (see `expectedArrivals`); a lone request
 *   on an idle service goes at once;
 * - `fixed`: it always waits up to `maxWaitMs` (Triton's max_queue_delay), which trades latency
 *   for fuller batches on hardware where a bigger batch is nearly free (a GPU).
 */
export type BatchWait = 'adaptive' | 'fixed';

export const isReady = (l: LaneView) => l.next < l.rows;

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
    if (isReady(l) && ready === 0) ready = c;
  }
  if (ready) return (l) => (l.cohort ?? 0) === ready;
  if (live.size < maxCohorts) return (l) => (l.cohort ?? 0) === 0;
  return () => false;
}

/** A part of a lane in a call: `lane` is a position in the lane list, `part` 0 (class row) or 1 (null-class row). */
export interface PartRef {
  lane: number;
  part: number;
}

/** One network call to make: which worker, which lane parts (one row each, in this order). */
export interface CallPlan {
  worker: number;
  parts: PartRef[];
}

export interface PlanKnobs {
  /** rows per call to aim for (the measured best, ≤ the buffers' capacity) */
  targetRows: number;
  /** calls a worker may hold (running + queued) */
  depth: number;
  /** may one request's rows be spread over idle workers (step mode) */
  spread: boolean;
}

/** The free worker with the fewest calls in flight (ties: the lowest index), or −1. */
export function pickWorker(workers: readonly WorkerView[], depth: number): number {
  let best = -1;
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i];
    if (!w.ready || w.inFlight >= depth) continue;
    if (best < 0 || w.inFlight < workers[best].inFlight) best = i;
  }
  return best;
}

/**
 * The calls to make now (assuming `decide` said dispatch):
 *
 * - **Spread** — when two or more workers are idle and the ready rows would not fill a target
 *   batch on each, the ready rows are cut in FIFO order into near-equal consecutive chunks, one
 *   per idle worker (at most one row per call). A lone guided request thus runs its class row
 *   and its null-class row side by side on two single-threaded sessions: one step costs about
 *   one batch-1 call instead of one batch-2 call. It is work-conserving — an idle worker would
 *   otherwise do nothing — and exact: the graphs are batch-invariant (docs/model-contract.md),
 *   so a row's output is the same bits in any call on any worker.
 * - **Fill** — otherwise one call to the least-loaded free worker: ready lanes oldest first while
 *   their remaining parts fit in `targetRows` (a lane's parts stay together; a lane that no
 *   longer fits is passed over so a smaller one behind it can fill the last row — it is still
 *   the oldest next time, so it cannot starve).
 *
 * `ok` is the eligibility rule (./eligibility). Returns [] when no worker is free or nothing is
 * ready.
 */
export function planCalls(
  lanes: readonly LaneView[],
  workers: readonly WorkerView[],
  k: PlanKnobs,
  ok: (l: LaneView) => boolean = () => true,
): CallPlan[] {
  const first = pickWorker(workers, k.depth);
  if (first < 0) return [];
  if (k.spread) {
    const idle: number[] = [];
    for (let i = 0; i < workers.length; i++) if (workers[i].ready && workers[i].inFlight === 0) idle.push(i);
    if (idle.length >= 2) {
      const parts: PartRef[] = [];
      for (let i = 0; i < lanes.length && parts.length < idle.length * k.targetRows; i++) {
        const l = lanes[i];
        if (!ok(l)) continue;
        for (let p = l.next; p < l.rows; p++) parts.push({ lane: i, part: p });
      }
      if (parts.length > 0 && parts.length < idle.length * k.targetRows) {
        const calls = Math.min(idle.length, parts.length);
        const out: CallPlan[] = [];
        let at = 0;
        for (let c = 0; c < calls; c++) {
          const size = Math.floor(parts.length / calls) + (c < parts.length % calls ? 1 : 0);
          out.push({ worker: idle[c], parts: parts.slice(at, at + size) });
          at += size;
        }
        return out;
      }
    }
  }
  const parts: PartRef[] = [];
  for (let i = 0; i < lanes.length && parts.length < k.targetRows; i++) {
    const l = lanes[i];
    const need = l.rows - l.next;
    // the first lane always goes, even past a target smaller than its rows (it would never fit)
    if (need <= 0 || (parts.length > 0 && parts.length + need > k.targetRows) || !ok(l)) continue;
    for (let p = l.next; p < l.rows; p++) parts.push({ lane: i, part: p });
  }
  return parts.length ? [{ worker: first, parts }] : [];
}

export interface DispatchState {
  /** rows the ready lanes would fill (counting up to the target is enough) */
  readyRows: number;
  /** when the oldest ready lane became ready (ms, same clock as now; −∞: back from a call) */
  oldestReadyAt: number;
  now: number;
  /** some worker can take another call */
  workerFree: boolean;
  /** some worker has nothing queued or running */
  workerIdle: boolean;
  /** requests expected to arrive within the remaining wait (adaptive mode; see expectedArrivals) */
  arrivalsDue: number;
}

export interface DispatchKnobs {
  targetRows: number;
  maxWaitMs: number;
  wait: BatchWait;
}

export type Decision = { action: 'dispatch' } | { action: 'wait'; ms: number } | { action: 'idle' };

/**
 * When to make the next network call:
 * - a target-sized batch is ready → now (into a busy worker's queue too: pipelining, so the
 *   worker starts the next call without waiting for the main thread);
 * - a partial batch while every free worker is busy → hold it: it cannot run sooner anyway, and
 *   lanes arriving or returning meanwhile make it fuller (each completion re-runs this decision);
 * - a partial batch with a worker idle → at once if the lanes have waited already (back from a
 *   call) or, in `adaptive` mode, if no request is due within the wait (company cannot come);
 *   else once the oldest ready lane has waited `maxWaitMs`;
 * - no worker can take a call → nothing until one completes.
 */
export function decide(s: DispatchState, k: DispatchKnobs): Decision {
  if (s.readyRows === 0 || !s.workerFree) return { action: 'idle' };
  if (s.readyRows >= k.targetRows) return { action: 'dispatch' };
  if (!s.workerIdle) return { action: 'idle' };
  const waited = s.now - s.oldestReadyAt;
  if (waited >= k.maxWaitMs) return { action: 'dispatch' };
  if (k.wait === 'adaptive' && s.arrivalsDue < 1) return { action: 'dispatch' };
  return { action: 'wait', ms: k.maxWaitMs - waited };
}

/** Smoothed request inter-arrival gap (ms) and the time of the last arrival. */
export interface ArrivalState {
  gapMs: number;
  last: number;
}

export const NO_ARRIVALS: ArrivalState = { gapMs: Infinity, last: -Infinity };

/** The state after a request arrived at `now`: an exponentially weighted mean of the gaps (α = 0.2). */
export function arrived(s: ArrivalState, now: number): ArrivalState {
  const gap = now - s.last;
  if (!Number.isFinite(gap)) return { gapMs: Infinity, last: now };
  return { gapMs: Number.isFinite(s.gapMs) ? 0.8 * s.gapMs + 0.2 * gap : gap, last: now };
}

/**
 * Requests expected within the next `windowMs`, as a Poisson estimate from the mean gap. A quiet
 * spell longer than the mean gap stretches it (the rate has evidently dropped), so one burst
 * long ago does not keep lone requests waiting.
 */
export function expectedArrivals(s: ArrivalState, now: number, windowMs: number): number {
  const gap = Math.max(s.gapMs, now - s.last);
  return gap > 0 && Number.isFinite(gap) ? windowMs / gap : 0;
}

/** Admission: does a request of `images` lanes fit under the queue limit? */
export function admits(depth: number, images: number, queueLimit: number): boolean {
  return depth + images <= queueLimit;
}

/**
 * The engine's recent throughput, for Retry-After: exponentially weighted means (α = 0.05) of the
 * rows each call brought and of the time its end added since the previous call's end, whichever
 * worker ran it — their ratio is rows/s over all workers. The time a call's end adds is capped at
 * the call's own run time, so an idle spell before it does not count as slowness. (A mean of
 * per-call rates would be thrown by two calls ending together; a rate per call, rows ÷ run time,
 * is one worker's rate, half a two-worker engine's.) α = 0.05 spans ≈ 20 calls — under a second
 * at saturation — so calls that end in pairs (two workers started together) sway it by a few
 * percent, not by the tens of percent α = 0.2 would.
 */
export interface Throughput {
  rows: number;
  ms: number;
  lastEnd: number;
}

/** Before any call: the warm-up's measured rows/s (or nothing known: 0). */
export function throughputFrom(rowsPerS: number): Throughput {
  return rowsPerS > 0 ? { rows: 1, ms: 1000 / rowsPerS, lastEnd: -Infinity } : { rows: 0, ms: 0, lastEnd: -Infinity };
}

/** The state after a call of `rows` rows that ran `runMs` ended at `now` (ms). */
export function callEnded(t: Throughput, now: number, rows: number, runMs: number): Throughput {
  const added = Math.max(0, Number.isFinite(t.lastEnd) ? Math.min(now - t.lastEnd, runMs) : runMs);
  if (t.ms === 0) return { rows, ms: added, lastEnd: now };
  return { rows: 0.95 * t.rows + 0.05 * rows, ms: 0.95 * t.ms + 0.05 * added, lastEnd: now };
}

export const rowsPerSecond = (t: Throughput): number => (t.ms > 0 ? (t.rows / t.ms) * 1000 : 0);

/**
 * Retry-After (whole seconds, ≥ 1) for a 503: how long the lanes already queued take to drain
 * at the recent throughput (`rowsPerSecond`), each lane needing `rowsPerLane` rows in all.
 */
export function retryAfterSeconds(depth: number, rowsPerLane: number, rowsPerSecond: number): number {
  if (!(rowsPerSecond > 0)) return 1;
  return Math.max(1, Math.min(60, Math.ceil((depth * rowsPerLane) / rowsPerSecond)));
}
