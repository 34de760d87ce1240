/**
 * The scheduler's queue state, apart from the batching loop (as text-generation-inference keeps
 * its queue apart from its batching task): admitted requests (jobs) and their lanes in FIFO
 * order, the queue depth that admission bounds, and each job's end — all images done, deadline,
 * client gone, or a failure. Nothing here decides batches or touches the engine.
 */
import { performance } from 'node:perf_hooks';
import { Cancelled, DeadlineExceeded } from '../errors.js';
import { startLane, type LaneSpec } from '../sampler/lane.js';
import type { LaneView } from './policy.js';
import type { GenerateJob, JobResult } from './jobs.js';

export interface Job {
  id: number;
  spec: GenerateJob;
  /** graph labels of the class row and the null-class row, as the int64 input wants them */
  labels: [bigint, bigint];
  lanesLeft: number;
  /** lane steps done (for progress) */
  stepsDone: number;
  result: JobResult;
  t0: number;
  tFirst: number;
  done: boolean;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

export interface Lane extends LaneView {
  job: Job;
  spec: LaneSpec;
  /** σ index of the step in progress */
  step: number;
  x: Float32Array;
  /** output of a part that came back before its sibling (a lane split over two calls) */
  partial: Float32Array | null;
  /** the part `partial` holds */
  partialPart: number;
}

export interface QueueOptions {
  n: number;
  sigmaMin: number;
  clamp: boolean;
  deadlineMs: number;
}

export interface QueueEvents {
  /** a job ended early: its queued lanes are gone, in-flight ones are dropped when their call returns */
  dropped(job: Job, reason: 'deadline' | 'aborted'): void;
}

export class LaneQueue {
  /** live lanes, oldest request first, then image index */
  lanes: Lane[] = [];
  /** images admitted and not yet finished or dropped (what QUEUE_LIMIT bounds) */
  depth = 0;
  private nextJob = 1;

  constructor(
    private readonly o: QueueOptions,
    private readonly events: QueueEvents,
  ) {}

  /** Admit a request: its lanes join the end of the queue at x = σ_0·z_0. */
  admit(spec: GenerateJob): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      const now = performance.now();
      const job: Job = {
        id: this.nextJob++,
        spec,
        labels: [BigInt(spec.classIndex), BigInt(spec.nullClass ?? 0)],
        lanesLeft: spec.numImages,
        stepsDone: 0,
        result: { request: 0, pixels: [], timings: { queueMs: 0, computeMs: 0 }, calls: spec.debug ? [] : undefined },
        t0: now,
        tFirst: -1,
        done: false,
        resolve,
        reject,
      };
      job.result.request = job.id;
      const rows = spec.guidance !== 1 ? 2 : 1;
      for (let index = 0; index < spec.numImages; index++) {
        const laneSpec: LaneSpec = { sigmas: spec.sigmas, sigmaMin: this.o.sigmaMin, guidance: spec.guidance, sampler: spec.sampler, clamp: this.o.clamp, seed: spec.seed, index };
        this.lanes.push({ job, spec: laneSpec, rows, next: 0, pending: 0, readyAt: now, cohort: 0, step: 0, x: startLane(laneSpec, this.o.n), partial: null, partialPart: -1 });
        job.result.pixels.push(new Uint8Array(this.o.n));
      }
      this.depth += spec.numImages;
      job.timer = setTimeout(() => {
        this.finish(job, new DeadlineExceeded(this.o.deadlineMs));
        this.events.dropped(job, 'deadline');
      }, this.o.deadlineMs);
      if (spec.signal) {
        job.onAbort = () => {
          this.finish(job, new Cancelled('client went away'));
          this.events.dropped(job, 'aborted');
        };
        spec.signal.addEventListener('abort', job.onAbort, { once: true });
      }
    });
  }

  /** A lane finished its last step. */
  laneDone(lane: Lane) {
    const job = lane.job;
    job.lanesLeft--;
    this.depth--;
    if (job.lanesLeft === 0) this.finish(job);
  }

  /**
   * Settle a job. With an error its lanes are dropped: the ones not in a call now, the others
   * when their call returns (see `compact`).
   */
  finish(job: Job, err?: Error) {
    if (job.done) return;
    job.done = true;
    if (job.timer) clearTimeout(job.timer);
    if (job.onAbort) job.spec.signal?.removeEventListener('abort', job.onAbort);
    this.depth -= job.lanesLeft;
    if (err) {
      this.lanes = this.lanes.filter((l) => l.job !== job || l.pending > 0);
      job.reject(err);
    } else {
      job.result.timings = { queueMs: job.tFirst - job.t0, computeMs: performance.now() - job.tFirst };
      job.resolve(job.result);
    }
  }

  /** Drop lanes of ended jobs that are out of calls, and lanes past their last step. */
  compact() {
    this.lanes = this.lanes.filter((l) => !(l.job.done && l.pending === 0) && l.step < l.spec.sigmas.length);
  }

  /** Settle every job that still has lanes with `err`. */
  failAll(err: Error) {
    for (const j of new Set(this.lanes.map((l) => l.job))) this.finish(j, err);
  }
}
