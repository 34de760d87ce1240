/** The scheduler's plain data: what a request asks for, what it gets back, what a call looked like. */
import type { SamplerKind } from '../sampler/step.js';

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
  /**
   * Progress of a long request: called after each network call that advanced any of its lanes,
   * with the lane steps done and the lane steps in all (images × steps).
   */
  onProgress?: (done: number, total: number) => void;
}

/** A network call as the debug field and the `composition` event see it. */
export interface CallInfo {
  call: number;
  rows: number;
  lanes: number;
  /** distinct requests whose lanes shared this call */
  requests: number;
  /** engine worker that ran it */
  worker: number;
  /** per lane part: request id, image index, step index, steps in all, rows of the lane (2 = guided), part (0 class, 1 null class) */
  composition: Array<{ request: number; index: number; step: number; of: number; rows: number; part: number; guidance: number }>;
}

export interface JobResult {
  request: number;
  /** quantised pixels per image, C-order [C, H, W] */
  pixels: Uint8Array[];
  timings: { queueMs: number; computeMs: number };
  calls?: CallInfo[];
}

/** What every network call reports (cheap: one object per call, never per lane). */
export interface CallStats {
  rows: number;
  /** class and null-class rows of guided lanes */
  guidedRows: number;
  /** worker-side run time */
  runMs: number;
  worker: number;
}

export interface SchedulerStats {
  calls: number;
  rows: number;
  images: number;
  rejected: number;
  deadlines: number;
  aborted: number;
}
