/**
 * Step-level (continuous) batching — the batching loop. Read this file first.
 *
 * Every image is a lane with its own σ index (./queue.ts holds them); one network call takes
 * ready lanes of any request, step count, sampler and guidance. Lanes join at the next call
 * after admission and leave the moment their last step is done. The loop, as in vLLM's
 * `schedule()` → run → `update_from_output()`:
 *
 *   pump()      decide (policy.decide) and, when due, plan calls (policy.planCalls: plain data)
 *   dispatch()  pack the planned rows (./pack.ts) and hand them to a backend worker
 *   complete()  deliver the output rows to their lanes and step each lane whose rows are all
 *               back (sampler/lane.ts — the same function as the reference sampler), pump, then
 *               report (progress, events)
 *
 * The scheduler knows the engine only through ./backend.ts, and reports through events:
 * `call` (every network call: rows, guided rows, run time — metrics attach here) and
 * `composition` (which lanes shared a call — built only while someone listens or a debug
 * request is in the call).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { batchBuffers, type BatchBuffers, type RunOutput } from '../engine/index.js';
import { Cancelled, EngineUnavailable, InternalError, QueueFull, ServiceError } from '../errors.js';
import { laneScratch, stepLane, type LaneScratch } from '../sampler/lane.js';
import type { InferenceBackend } from './backend.js';
import type { CallInfo, CallStats, GenerateJob, JobResult, SchedulerStats } from './jobs.js';
import { deliverRows, packRows, type CallRows } from './pack.js';
import {
  admits,
  arrived,
  callEnded,
  decide,
  eligibility,
  expectedArrivals,
  isReady,
  NO_ARRIVALS,
  planCalls,
  retryAfterSeconds,
  rowsPerSecond,
  throughputFrom,
  type ArrivalState,
  type BatchingMode,
  type BatchWait,
  type CallPlan,
  type LaneView,
  type Throughput,
} from './policy.js';
import { LaneQueue, type Job, type Lane } from './queue.js';

export type { CallInfo, CallStats, GenerateJob, JobResult, SchedulerStats } from './jobs.js';

export interface SchedulerOptions {
  channels: number;
  height: number;
  width: number;
  sigmaMin: number;
  clamp: boolean;
  /** rows the batch buffers hold: no call is larger (MAX_BATCH) */
  maxRows: number;
  /** rows per call to aim for (the measured best batch, ≤ maxRows; default maxRows) */
  targetRows?: number;
  maxWaitMs: number;
  /** how a partial batch waits for company (policy.BatchWait; default adaptive) */
  wait?: BatchWait;
  queueLimit: number;
  pipelineDepth: number;
  deadlineMs: number;
  /** step-level (default) or request-level batching, see policy.ts */
  batching?: BatchingMode;
  /** rows/s measured at warm-up: Retry-After's estimate until calls have been measured */
  initialRowsPerS?: number;
}

export interface SchedulerEvents {
  call: [stats: CallStats];
  composition: [info: CallInfo];
}

export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly n: number;
  private readonly chw: [number, number, number];
  private readonly queue: LaneQueue;
  private readonly mode: BatchingMode;
  private readonly target: number;
  private readonly wait: BatchWait;
  private nextCall = 1;
  private nextCohort = 1;
  private timer: NodeJS.Timeout | null = null;
  private readonly pool: BatchBuffers[] = [];
  private readonly scratch: LaneScratch;
  private closed = false;
  private arrivals: ArrivalState = NO_ARRIVALS;
  /** recent rows/s over all workers, for Retry-After (policy.callEnded) */
  private throughput: Throughput;
  private calls = 0;
  readonly stats: SchedulerStats = { calls: 0, rows: 0, images: 0, rejected: 0, deadlines: 0, aborted: 0 };

  constructor(
    private readonly backend: InferenceBackend,
    private readonly o: SchedulerOptions,
  ) {
    super();
    this.n = o.channels * o.height * o.width;
    this.chw = [o.channels, o.height, o.width];
    this.scratch = laneScratch(this.n);
    this.mode = o.batching ?? 'step';
    // at least 2: the two rows of a guided lane go together unless spread over idle workers
    this.target = Math.max(2, Math.min(o.maxRows, o.targetRows ?? o.maxRows));
    this.wait = o.wait ?? 'adaptive';
    this.throughput = throughputFrom(o.initialRowsPerS ?? 0);
    this.queue = new LaneQueue(
      { n: this.n, sigmaMin: o.sigmaMin, clamp: o.clamp, deadlineMs: o.deadlineMs },
      {
        dropped: (_job, reason) => {
          if (reason === 'deadline') this.stats.deadlines++;
          else this.stats.aborted++;
          this.pump();
        },
      },
    );
    // a restarted worker can take the lanes that waited; a backend that gave up fails them (503)
    backend.on('worker-ready', () => this.pump());
    backend.on('failed', (e) => this.queue.failAll(new EngineUnavailable(`the model's inference workers failed: ${e.message}`)));
  }

  /** Request deadline (ms). */
  get deadlineMs(): number {
    return this.o.deadlineMs;
  }

  /** Images the queue holds. */
  get queueLimit(): number {
    return this.o.queueLimit;
  }

  /** Rows per call the scheduler aims for. */
  get targetRows(): number {
    return this.target;
  }

  /** Lanes held (queued, in a call, or dropped and waiting for their call to return). */
  get laneCount(): number {
    return this.queue.lanes.length;
  }

  /** Images (lanes) admitted and not yet finished or dropped. */
  get queueDepth(): number {
    return this.queue.depth;
  }

  /** Lanes (images) inside a network call right now. O(lanes); for scrapes, not the hot path. */
  get lanesInFlight(): number {
    let k = 0;
    for (const l of this.queue.lanes) if (l.pending > 0) k++;
    return k;
  }

  /** Network calls queued or running on the backend's workers. */
  get inFlightCalls(): number {
    return this.calls;
  }

  submit(spec: GenerateJob): Promise<JobResult> {
    if (this.closed) return Promise.reject(new Cancelled('the service is shutting down'));
    if (spec.signal?.aborted) return Promise.reject(new Cancelled('client went away'));
    if (this.backend.failure) return Promise.reject(new EngineUnavailable(`the model's inference workers failed: ${this.backend.failure.message}`));
    const guided = spec.guidance !== 1;
    if (guided && spec.nullClass === null) return Promise.reject(new InternalError('guided job without null class'));
    if (!admits(this.queue.depth, spec.numImages, this.o.queueLimit)) {
      this.stats.rejected++;
      return Promise.reject(new QueueFull(retryAfterSeconds(this.queue.depth, (guided ? 2 : 1) * spec.sigmas.length, rowsPerSecond(this.throughput))));
    }
    this.arrivals = arrived(this.arrivals, performance.now());
    const done = this.queue.admit(spec);
    this.pump();
    return done;
  }

  /** Decide and, when due, make network calls until no worker is free or nothing is ready. */
  private pump() {
    if (this.closed) return;
    for (;;) {
      const lanes = this.queue.lanes;
      const workers = this.backend.workers();
      const ok = this.eligible(lanes, workers.length);
      let readyRows = 0;
      let oldest = Infinity;
      for (const l of lanes) {
        if (!isReady(l) || !ok(l)) continue;
        readyRows += l.rows - l.next;
        if (l.readyAt < oldest) oldest = l.readyAt;
        if (readyRows >= this.target) break;
      }
      let workerFree = false;
      let workerIdle = false;
      for (const w of workers) {
        if (!w.ready) continue;
        if (w.inFlight < this.o.pipelineDepth) workerFree = true;
        if (w.inFlight === 0) workerIdle = true;
      }
      const now = performance.now();
      const wait = this.o.maxWaitMs - (now - oldest);
      const d = decide(
        { readyRows, oldestReadyAt: oldest, now, workerFree, workerIdle, arrivalsDue: wait > 0 ? expectedArrivals(this.arrivals, now, wait) : 0 },
        { targetRows: this.target, maxWaitMs: this.o.maxWaitMs, wait: this.wait },
      );
      if (d.action === 'wait') {
        this.timer ??= setTimeout(() => {
          this.timer = null;
          this.pump();
        }, Math.max(0, Math.ceil(d.ms)));
        return;
      }
      if (d.action === 'idle') return;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      const plans = planCalls(lanes, workers, { targetRows: this.target, depth: this.o.pipelineDepth, spread: this.mode === 'step' }, ok);
      if (!plans.length) return;
      for (const p of plans) this.dispatch(p, lanes);
    }
  }

  /** Lanes that may join a call now: not of an ended job, and eligible under the batching mode. */
  private eligible(lanes: readonly Lane[], workers: number): (l: LaneView) => boolean {
    const ok = eligibility(lanes, this.mode, workers);
    return (l) => !(l as Lane).job.done && ok(l);
  }

  private buffers(): BatchBuffers {
    return this.pool.pop() ?? batchBuffers(this.o.maxRows, this.n);
  }

  /** Make one planned call: mark its parts sent, pack the rows, run it on the planned worker. */
  private dispatch(plan: CallPlan, all: readonly Lane[]) {
    const call: CallRows = { lanes: plan.parts.map((p) => all[p.lane]), parts: plan.parts.map((p) => p.part) };
    const now = performance.now();
    // request-level batching: the lanes that start together stay together until all are done
    const newCohort = this.mode === 'request' && call.lanes[0].cohort === 0 ? this.nextCohort++ : 0;
    let debug = false;
    for (const lane of call.lanes) {
      lane.next++;
      lane.pending++;
      if (newCohort) lane.cohort = newCohort;
      const job = lane.job;
      if (job.spec.debug) debug = true;
      if (job.tFirst < 0) job.tFirst = now;
    }
    const buf = this.buffers();
    const rows = call.lanes.length;
    const guidedRows = packRows(call, buf, this.n);
    const id = this.nextCall++;
    const info = debug || this.listenerCount('composition') > 0 ? this.describe(id, call, plan.worker) : null;
    this.stats.calls++;
    this.stats.rows += rows;
    this.calls++;
    this.backend.run(plan.worker, rows, this.chw, buf).then(
      (res) => this.complete(call, res, { rows, guidedRows, runMs: res.runMs, worker: plan.worker }, info),
      (err: Error & { buffers?: BatchBuffers }) => this.fail(call, err),
    );
  }

  /** Deliver a call's output, step the lanes that have all their rows back, and pump. */
  private complete(call: CallRows, res: RunOutput, stats: CallStats, info: CallInfo | null) {
    this.calls--;
    let finished = false;
    let progressed = null as Set<Job> | null;
    deliverRows(call, res.out, this.n, (lane, dC, dU) => {
      const job = lane.job;
      job.stepsDone++;
      if (job.spec.onProgress) (progressed ??= new Set()).add(job);
      if (stepLane(lane.spec, lane.step, lane.x, dC, dU, job.result.pixels[lane.spec.index], this.scratch)) {
        lane.step = lane.spec.sigmas.length;
        finished = true;
        this.stats.images++;
        this.queue.laneDone(lane);
      } else {
        lane.step++;
        lane.next = 0;
        // a lane in progress never waits for company: max wait only batches new arrivals
        lane.readyAt = -Infinity;
      }
    });
    this.pool.push(res.buffers);
    if (finished || call.lanes.some((l) => l.job.done)) this.queue.compact();
    // the lanes' next calls go out first: progress events, Retry-After's estimate and the
    // listeners (metrics) are bookkeeping, and a lone request's next step should not wait on them
    this.pump();
    if (progressed) for (const job of progressed) job.spec.onProgress!(job.stepsDone, job.spec.numImages * job.spec.sigmas.length);
    this.measure(stats.rows, res.runMs);
    this.emit('call', stats);
    if (info) this.emit('composition', info);
  }

  /** A call failed: its buffers come back; every job with a lane in it fails. */
  private fail(call: CallRows, err: Error & { buffers?: BatchBuffers }) {
    this.calls--;
    if (err.buffers) this.pool.push(err.buffers);
    // onnxruntime's own message travels as the cause, so the edge logs it (never sends it)
    const e = err instanceof ServiceError ? err : new InternalError('inference failed', err);
    for (const lane of call.lanes) lane.pending--;
    for (const lane of call.lanes) this.queue.finish(lane.job, e);
    this.queue.compact();
    this.pump();
  }

  /** Smoothed rows/s for Retry-After. */
  private measure(rows: number, runMs: number) {
    this.throughput = callEnded(this.throughput, performance.now(), rows, runMs);
  }

  /** The composition record of a call (an object per row: only for debug requests and listeners). */
  private describe(id: number, call: CallRows, worker: number): CallInfo {
    const jobs = new Set(call.lanes.map((l) => l.job));
    const distinct = new Set(call.lanes);
    const info: CallInfo = {
      call: id,
      rows: call.lanes.length,
      lanes: distinct.size,
      requests: jobs.size,
      worker,
      composition: call.lanes.map((l, r) => ({ request: l.job.id, index: l.spec.index, step: l.step, of: l.spec.sigmas.length, rows: l.rows, part: call.parts[r], guidance: l.spec.guidance })),
    };
    for (const j of jobs) j.result.calls?.push(info);
    return info;
  }

  /** Stop admitting; reject everything still queued. */
  close() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.failAll(new Cancelled('the service is shutting down'));
    this.queue.lanes = [];
  }
}
