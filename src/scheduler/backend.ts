/**
 * What the scheduler needs of an inference engine — and nothing more, so the scheduler can be
 * driven by src/engine/ (onnxruntime sessions in worker threads) or by a scripted backend in
 * tests without casts.
 */
import type { BatchBuffers, RunOutput } from '../engine/index.js';
import type { WorkerView } from './policy.js';

export interface InferenceBackend {
  /** set when the backend gave up (workers kept dying); it then refuses work */
  readonly failure: Error | null;
  /** per worker: calls queued or running, and whether it can take calls */
  workers(): readonly WorkerView[];
  /** Run `rows` rows on worker `worker`. The buffers travel with the call and come back in the result (or on the error as `buffers`). */
  run(worker: number, rows: number, chw: [number, number, number], buffers: BatchBuffers): Promise<RunOutput>;
  on(event: 'worker-ready', listener: (index: number) => void): unknown;
  on(event: 'failed', listener: (error: Error) => void): unknown;
}
