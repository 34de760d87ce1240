/**
 * The onnxruntime session options of this service, in one place so the benchmark's "raw"
 * baseline uses exactly the same settings as the served sessions.
 */
import type { InferenceSession } from 'onnxruntime-node';

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
