/**
 * Step-level continuous batching (shared/DESIGN.md §5). Every image is a lane carrying its own
 * σ index; one network call takes ready lanes of any request, step count, sampler and guidance
 * (a guided lane = 2 rows: its class and the null class, an unguided lane = 1 row). Lanes join
 * at the next call after admission and leave the moment their last step is done. The policy
 * (which lanes, when) is in ./policy.ts; this class only keeps state and moves buffers.
 *
 * Between two calls of a lane the sampler math of src/sampler/step.ts runs here, on the main
 * thread: it is O(C·H·W) per lane and far cheaper than the network.
 */
import { performance } from 'node:perf_hooks';
import type { BatchBuffers, Engine, RunOutput } from '../engine/index.js';
import { Cancelled, DeadlineExceeded, EngineUnavailable, InternalError, QueueFull, ServiceError } from '../errors.js';
import { gaussianNoise } from '../sampler/philox.js';
import { combineGuidance, consistencyStep, initialLatent, odeStep, quantise, type SamplerKind } from '../sampler/step.js';
import { admits, decide, eligibility, planBatch, retryAfterSeconds, type BatchingMode, type LaneView } from './policy.js';

export interface SchedulerOptions {
  channels: number;
  height: number;
  width: number;
  sigmaMin: number;
  clamp: boolean;
  maxRows: number;
  maxWaitMs: number;
  queueLimit: number;
  pipelineDepth: number;
  deadlineMs: number;
  /** step-level (default) or request-level batching, see policy.ts */
  batching?: BatchingMode;
}

export interface GenerateJob {
  classIndex: number;
  nullClass: number | null;
  guidance: number;
  sigmas: readonly number[];
  sampler: SamplerKind;
  seed: number;
  numImages: number;
  /** record the network calls this request's lanes took part in */
  debug?: boolean;
  /** aborts the request (client went away); its lanes are dropped */
  signal?: AbortSignal;
}

/** A network call as the debug field and the stats hook see it. */
export interface CallInfo {
  call: number;
  rows: number;
  lanes: number;
  /** distinct requests whose lanes shared this call */
  requests: number;
  /** per lane: request id, image index, step index, rows (2 = guided) */
  composition: Array<{ request: number; index: number; step: number; of: number; rows: number; guidance: number }>;
}

export interface JobResult {
  request: number;
  /** quantised pixels per image, C-order [C, H, W] */
  pixels: Uint8Array[];
  /** final D per image (after clamp), C-order — for parity tests */
  denoised: Float32Array[];
  timings: { queueMs: number; computeMs: number };
  calls?: CallInfo[];
}

interface Job {
  id: number;
  spec: GenerateJob;
  guided: boolean;
  lanesLeft: number;
  result: JobResult;
  t0: number;
  tFirst: number;
  done: boolean;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

interface Lane {
  job: Job;
  index: number;
  rows: 1 | 2;
  step: number;
  inFlight: boolean;
  readyAt: number;
  x: Float32Array;
  /** request-level batching: the cohort the lane started in (0 = not started) */
  cohort: number;
}

export interface SchedulerStats {
  calls: number;
  rows: number;
  images: number;
  rejected: number;
  deadlines: number;
  aborted: number;
}

export class Scheduler {
  private readonly n: number;
  private readonly chw: [number, number, number];
  /** live lanes in FIFO order (oldest request first, then image index) */
  private lanes: Lane[] = [];
  private depth = 0;
  private nextJob = 1;
  private nextCall = 1;
  private nextCohort = 1;
  private readonly mode: BatchingMode;
  private timer: NodeJS.Timeout | null = null;
  private readonly pool: BatchBuffers[] = [];
  private readonly scratch: Float32Array;
  private closed = false;
  /** recent rows/s, exponentially smoothed, for Retry-After */
  private rowsPerSecond = 0;
  private lastCallEnd = 0;
  readonly stats: SchedulerStats = { calls: 0, rows: 0, images: 0, rejected: 0, deadlines: 0, aborted: 0 };
  /** called for every network call (metrics, tests) */
  onCall: ((info: CallInfo, runMs: number) => void) | null = null;
  /** cheap per-call observer for metrics: rows, of which guided (class + null-class rows), run time */
  onBatch: ((rows: number, guidedRows: number, runMs: number) => void) | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly o: SchedulerOptions,
  ) {
    this.n = o.channels * o.height * o.width;
    this.chw = [o.channels, o.height, o.width];
    this.scratch = new Float32Array(this.n);
    this.mode = o.batching ?? 'step';
    // a restarted worker can take the lanes that waited; an engine that gave up fails them (503)
    engine.on('worker-ready', () => this.pump());
    engine.on('failed', (e) => this.failAll(new EngineUnavailable(`the model's inference workers failed: ${e.message}`)));
  }

  /** Lanes held (queued, in a call, or dropped and waiting for their call to return). */
  get laneCount(): number {
    return this.lanes.length;
  }

  /** Images (lanes) admitted and not yet finished or dropped. */
  get queueDepth(): number {
    return this.depth;
  }

  /** Lanes (images) inside a network call right now. O(lanes); for scrapes, not the hot path. */
  get lanesInFlight(): number {
    let k = 0;
    for (const l of this.lanes) if (l.inFlight) k++;
    return k;
  }

  /** Network calls queued or running on the engine's workers. */
  get inFlightCalls(): number {
    return this.engine.inFlight().reduce((a, b) => a + b, 0);
  }

  submit(spec: GenerateJob): Promise<JobResult> {
    if (this.closed) return Promise.reject(new Cancelled('the service is shutting down'));
    if (spec.signal?.aborted) return Promise.reject(new Cancelled('client went away'));
    if (this.engine.failure) return Promise.reject(new EngineUnavailable(`the model's inference workers failed: ${this.engine.failure.message}`));
    const guided = spec.guidance !== 1;
    if (guided && spec.nullClass === null) return Promise.reject(new InternalError('guided job without null class'));
    if (!admits(this.depth, spec.numImages, this.o.queueLimit)) {
      this.stats.rejected++;
      return Promise.reject(new QueueFull(retryAfterSeconds(this.depth, (guided ? 2 : 1) * spec.sigmas.length, this.rowsPerSecond)));
    }
    return new Promise<JobResult>((resolve, reject) => {
      const now = performance.now();
      const job: Job = {
        id: this.nextJob++,
        spec,
        guided,
        lanesLeft: spec.numImages,
        result: { request: 0, pixels: [], denoised: [], timings: { queueMs: 0, computeMs: 0 }, calls: spec.debug ? [] : undefined },
        t0: now,
        tFirst: -1,
        done: false,
        resolve,
        reject,
      };
      job.result.request = job.id;
      for (let i = 0; i < spec.numImages; i++) {
        // x ← σ_0·z_0, z_0 from Philox keyed by (seed, index), counter j = 0
        const x = initialLatent(gaussianNoise(spec.seed, i, 0, this.n), spec.sigmas[0]);
        this.lanes.push({ job, index: i, rows: guided ? 2 : 1, step: 0, inFlight: false, readyAt: now, x, cohort: 0 });
        job.result.pixels.push(new Uint8Array(this.n));
        job.result.denoised.push(new Float32Array(this.n));
      }
      this.depth += spec.numImages;
      job.timer = setTimeout(() => {
        this.stats.deadlines++;
        this.finish(job, new DeadlineExceeded(this.o.deadlineMs));
      }, this.o.deadlineMs);
      if (spec.signal) {
        job.onAbort = () => {
          this.stats.aborted++;
          this.finish(job, new Cancelled('client went away'));
        };
        spec.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.pump();
    });
  }

  /** Settle a job (error → its lanes are dropped: queued ones now, in-flight ones when their call returns). */
  private finish(job: Job, err?: Error) {
    if (job.done) return;
    job.done = true;
    if (job.timer) clearTimeout(job.timer);
    if (job.onAbort) job.spec.signal?.removeEventListener('abort', job.onAbort);
    this.depth -= job.lanesLeft;
    if (err) {
      this.lanes = this.lanes.filter((l) => l.job !== job || l.inFlight);
      job.reject(err);
      this.pump();
    } else {
      job.result.timings = { queueMs: job.tFirst - job.t0, computeMs: performance.now() - job.tFirst };
      job.resolve(job.result);
    }
  }

  private buffers(): BatchBuffers {
    return (
      this.pool.pop() ?? {
        x: new Float32Array(this.o.maxRows * this.n),
        sigma: new Float32Array(this.o.maxRows),
        labels: new BigInt64Array(this.o.maxRows),
      }
    );
  }

  /** Decide and, when due, make network calls until no worker is free or nothing is ready. */
  private pump() {
    if (this.closed) return;
    for (;;) {
      const worker = this.engine.pick(this.o.pipelineDepth);
      let readyRows = 0;
      let oldest = Infinity;
      const ok = eligibility(this.lanes, this.mode, this.engine.workerCount);
      for (const l of this.lanes) {
        if (l.inFlight || !ok(l)) continue;
        readyRows += l.rows;
        if (l.readyAt < oldest) oldest = l.readyAt;
        if (readyRows >= this.o.maxRows) break;
      }
      const workerIdle = worker >= 0 && this.engine.inFlight()[worker] === 0;
      const d = decide({ readyRows, oldestReadyAt: oldest, now: performance.now(), workerFree: worker >= 0, workerIdle }, { maxRows: this.o.maxRows, maxWaitMs: this.o.maxWaitMs });
      if (d.action === 'wait') {
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = null;
            this.pump();
          }, Math.max(0, Math.ceil(d.ms)));
        }
        return;
      }
      if (d.action === 'idle') return;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      this.dispatch(worker, ok);
    }
  }

  /** `ok`: the eligibility pump() just worked out (the lanes have not changed since). */
  private dispatch(worker: number, ok: (l: LaneView) => boolean) {
    const { picked } = planBatch(this.lanes, this.o.maxRows, this.mode, this.engine.workerCount, ok);
    const batch = picked.map((i) => this.lanes[i]);
    // request-level batching: the lanes that start together stay together until all are done
    if (this.mode === 'request' && batch.length && batch[0].cohort === 0) {
      const cohort = this.nextCohort++;
      for (const l of batch) l.cohort = cohort;
    }
    const buf = this.buffers();
    const n = this.n;
    const now = performance.now();
    let r = 0;
    let guidedRows = 0;
    const call = this.nextCall++;
    let debug = false;
    for (const lane of batch) {
      lane.inFlight = true;
      const job = lane.job;
      if (job.spec.debug) debug = true;
      if (job.tFirst < 0) job.tFirst = now;
      const sigma = job.spec.sigmas[lane.step];
      buf.x.set(lane.x, r * n);
      buf.sigma[r] = sigma;
      buf.labels[r] = BigInt(job.spec.classIndex);
      r++;
      if (lane.rows === 2) {
        guidedRows += 2;
        buf.x.set(lane.x, r * n);
        buf.sigma[r] = sigma;
        buf.labels[r] = BigInt(job.spec.nullClass as number);
        r++;
      }
    }
    const rows = r;
    // The composition record costs an object per lane: built only when a test hook or a debug
    // request asks for it, never on the plain serving path.
    let info: CallInfo | null = null;
    if (this.onCall !== null || debug) {
      const jobs = new Set(batch.map((l) => l.job));
      info = {
        call,
        rows,
        lanes: batch.length,
        requests: jobs.size,
        composition: batch.map((l) => ({ request: l.job.id, index: l.index, step: l.step, of: l.job.spec.sigmas.length, rows: l.rows, guidance: l.job.spec.guidance })),
      };
      for (const j of jobs) j.result.calls?.push(info);
    }
    this.stats.calls++;
    this.stats.rows += rows;
    this.engine.run(worker, rows, this.chw, buf).then(
      (res) => {
        this.onBatch?.(rows, guidedRows, res.runMs);
        this.complete(batch, res, info);
      },
      (err: Error & { buffers?: BatchBuffers }) => {
        if (err.buffers) this.pool.push(err.buffers);
        for (const lane of batch) {
          lane.inFlight = false;
          this.finish(lane.job, err instanceof ServiceError ? err : new InternalError('inference failed', err));
        }
        this.lanes = this.lanes.filter((l) => !l.job.done);
        this.pump();
      },
    );
  }

  private complete(batch: Lane[], res: RunOutput, info: CallInfo | null) {
    this.pool.push(res.buffers);
    const out = res.out;
    const n = this.n;
    const now = performance.now();
    let r = 0;
    let finished = false;
    for (const lane of batch) {
      const job = lane.job;
      const rowC = r;
      r += lane.rows;
      lane.inFlight = false;
      if (job.done) {
        finished = true; // dropped (deadline / abort): discard the result
        continue;
      }
      const spec = job.spec;
      const dC = out.subarray(rowC * n, (rowC + 1) * n);
      const dU = lane.rows === 2 ? out.subarray((rowC + 1) * n, (rowC + 2) * n) : null;
      const last = lane.step === spec.sigmas.length - 1;
      const d = last ? job.result.denoised[lane.index] : this.scratch;
      combineGuidance(dC, dU, spec.guidance, this.o.clamp, d);
      if (!last) {
        const sCur = spec.sigmas[lane.step];
        const sNext = spec.sigmas[lane.step + 1];
        if (spec.sampler === 'ode') odeStep(lane.x, d, sCur, sNext);
        // consistency: fresh noise z_{i+1}, Philox counter j = i + 1
        else consistencyStep(lane.x, d, gaussianNoise(spec.seed, lane.index, lane.step + 1, n, this.scratchNoise()), sNext, this.o.sigmaMin);
        lane.step++;
        // a lane in progress never waits for company: max wait only batches new arrivals
        lane.readyAt = -Infinity;
      } else {
        quantise(d, job.result.pixels[lane.index]);
        finished = true;
        lane.step++;
        job.lanesLeft--;
        this.depth--;
        this.stats.images++;
        if (job.lanesLeft === 0) this.finish(job);
      }
    }
    if (finished) this.lanes = this.lanes.filter((l) => !l.job.done && l.step < l.job.spec.sigmas.length);
    // smoothed throughput for Retry-After
    if (this.lastCallEnd > 0) {
      const dt = (now - this.lastCallEnd) / 1000;
      if (dt > 0) {
        const inst = r / Math.max(dt, res.runMs / 1000);
        this.rowsPerSecond = this.rowsPerSecond ? 0.8 * this.rowsPerSecond + 0.2 * inst : inst;
      }
    }
    this.lastCallEnd = now;
    if (info && this.onCall) this.onCall(info, res.runMs);
    this.pump();
  }

  private noiseBuf: Float32Array | null = null;
  private scratchNoise(): Float32Array {
    return (this.noiseBuf ??= new Float32Array(this.n));
  }

  /** Reject every job that still has lanes. */
  private failAll(err: ServiceError) {
    const jobs = new Set(this.lanes.map((l) => l.job));
    for (const j of jobs) this.finish(j, err);
  }

  /** Stop admitting; reject everything still queued. */
  close() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.failAll(new Cancelled('the service is shutting down'));
    this.lanes = [];
  }
}
