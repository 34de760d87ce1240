/**
 * The onnxruntime session options of this service, in one place so the benchmark's "raw"
 * baseline uses exactly the same settings as the served sessions.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';

export function sessionOptions(provider: string, intraOpThreads: number): InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    // all graph rewrites (constant folding, fusions, layout) — the graph is static once exported
    graphOptimizationLevel: 'all',
    // one graph, one request at a time per session: parallelism comes from intra-op threads
    executionMode: 'sequential',
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    // the arena and memory pattern reuse allocations across calls of equal shapes (our batch
    // sizes repeat), which keeps per-call allocation off the hot path
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: 3,
    extra: {
      // Busy-waiting intra-op threads would steal the cores the HTTP event loop needs between
      // calls; parking them costs a little latency per call but keeps the service responsive.
      session: { intra_op: { allow_spinning: '0' } },
    },
  };
}

/**
 * The graph inputs of the model contract (docs/model-contract.md) — x [rows, C, H, W],
 * sigma [rows], class_labels [rows] — as views of the first `rows` rows of the buffers, no copies.
 * `TensorClass` is the caller's onnxruntime `Tensor`, the one its session belongs to.
 */
export function contractFeeds(
  TensorClass: typeof Tensor,
  rows: number,
  chw: readonly [number, number, number],
  x: Float32Array,
  sigma: Float32Array,
  labels: BigInt64Array,
): InferenceSession.FeedsType {
  const n = chw[0] * chw[1] * chw[2];
  return {
    x: new TensorClass('float32', x.subarray(0, rows * n), [rows, chw[0], chw[1], chw[2]]),
    sigma: new TensorClass('float32', sigma.subarray(0, rows), [rows]),
    class_labels: new TensorClass('int64', labels.subarray(0, rows), [rows]),
  };
}
