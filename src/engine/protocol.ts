/** Messages between the engine (main thread) and its session workers (src/engine/worker.ts). */
import type { ExecutionProviderName } from '../config.js';

export interface WorkerInit {
  graphPath: string;
  providers: ExecutionProviderName[];
  intraOpThreads: number;
  /** niceness for this worker thread and the onnxruntime threads it creates (they inherit it) */
  nice: number;
}

/** Tensor metadata as onnxruntime reports it (shape entries: number, or a symbolic name for dynamic axes). */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: Array<number | string>;
}

export interface ProviderAttempt {
  provider: string;
  error: string;
}

export type WorkerReady = {
  type: 'ready';
  provider: ExecutionProviderName;
  attempts: ProviderAttempt[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  loadMs: number;
};
export type WorkerLoadFailed = { type: 'load-error'; message: string; attempts: ProviderAttempt[] };

/**
 * The buffers of one network call: inputs, and the space onnxruntime writes the output into.
 * They are transferred to the worker and come back with the result, so a call allocates nothing.
 */
export interface BatchBuffers {
  x: Float32Array;
  sigma: Float32Array;
  labels: BigInt64Array;
  /** output space: at least rows × C·H·W */
  out: Float32Array;
}

/** The buffers of a call as a transfer list (moved, not copied, between threads). */
export function transferList(b: BatchBuffers): ArrayBuffer[] {
  return [b.x.buffer as ArrayBuffer, b.sigma.buffer as ArrayBuffer, b.labels.buffer as ArrayBuffer, b.out.buffer as ArrayBuffer];
}

/**
 * One network call: `rows` rows of x [rows, C, H, W], sigma [rows], class_labels [rows]; the
 * output is written into `out` [rows, C, H, W]. Buffers may be longer than needed.
 */
export interface RunRequest extends BatchBuffers {
  type: 'run';
  id: number;
  rows: number;
  chw: [number, number, number];
}

/**
 * Ask the worker to end its thread with `code` at its next JavaScript turn — never in the middle
 * of `session.run` (terminating a thread inside the native call aborts the whole process: the
 * binding throws a C++ Napi::Error into a dying environment). Code 0 is a clean close; any other
 * code is a simulated crash (fault injection), which the engine restarts like a real one.
 */
export interface ExitRequest {
  type: 'exit';
  code: number;
}

/** The result; every buffer travels back (transferred) so the scheduler can reuse it. `used`: output values written. */
export type RunResult =
  | { type: 'result'; id: number; x: Float32Array; sigma: Float32Array; labels: BigInt64Array; out: Float32Array; used: number; runMs: number }
  | { type: 'run-error'; id: number; message: string; x: Float32Array; sigma: Float32Array; labels: BigInt64Array; out: Float32Array };

export type WorkerMessage = WorkerReady | WorkerLoadFailed | RunResult;
