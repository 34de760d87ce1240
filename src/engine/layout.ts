/**
 * How many sessions (worker threads) an engine runs, and with how many onnxruntime intra-op
 * threads each — pure functions of the configuration, the cores, the graph's size on disk and
 * the provider that loaded.
 *
 * On CPU the default for a small graph is one single-threaded session per core (Triton's
 * `instance_group { count: N, kind: KIND_CPU }` with one thread per instance) rather than one
 * session spreading every call over all cores: the small convolutions of a 16×16 UNet spend a
 * large share of a multi-threaded call synchronising threads, while independent single-threaded
 * sessions need no synchronisation and let one call run while the main thread prepares the next.
 * Measured with `npm run bench` on the 2-core machine: 2 sessions × 1 thread ≈ 230 images/s raw
 * vs 1 session × 2 threads ≈ 150–210 (README "Benchmarks").
 *
 * A big graph gets one session over all cores instead: every session holds its own copy of the
 * weights (onnxruntime-node cannot share initializers between sessions), so per-core sessions
 * multiply the memory — the 296M-parameter ImageNet-64 network: 4.4 GiB per replica as 2 × 1,
 * 2.2 GiB as 1 × 2 (README "Serving at real size") — while one call of such a network lasts
 * seconds, long enough to amortise its threads' synchronisation, and a lone request gets every
 * core instead of one. BIG_GRAPH_BYTES sits between the sizes measured: 7 MB (digits16, where
 * per-core sessions serve 1.2–2.4× more) and 1.2 GB (where one session halves the memory; its
 * throughput against per-core sessions on a quiet machine is the real-size benchmark's to show).
 * A GPU provider gets one session: the device serialises its calls anyway, and one session keeps
 * one copy of the weights on it.
 */

/** `workers` and `intraOpThreads` as configured: 0 = automatic; the graph's bytes on disk (with its external data). */
export interface LayoutConfig {
  workers: number;
  intraOpThreads: number;
  graphBytes?: number;
}

/** From this size on (graph plus external data, bytes), the automatic CPU layout is one session over all cores. */
export const BIG_GRAPH_BYTES = 256 * 2 ** 20;

/** Whether the automatic layout treats the graph as big (one session over all cores). */
export function isBigGraph(cfg: LayoutConfig): boolean {
  return (cfg.graphBytes ?? 0) >= BIG_GRAPH_BYTES;
}

/** The intra-op threads of every session, known before any session loads. */
export function threadsPerSession(cfg: LayoutConfig, cores: number): number {
  if (cfg.intraOpThreads > 0) return cfg.intraOpThreads;
  // explicit worker count: share the cores among them; automatic: one thread per session, or
  // every core for a big graph's one session
  if (cfg.workers > 0) return Math.max(1, Math.floor(cores / cfg.workers));
  return isBigGraph(cfg) ? Math.max(1, cores) : 1;
}

/** Sessions to start before the provider is known: all of them, or one when automatic. */
export function initialWorkers(cfg: LayoutConfig): number {
  return cfg.workers > 0 ? cfg.workers : 1;
}

/** Sessions once the first one reports its provider. */
export function totalWorkers(cfg: LayoutConfig, cores: number, provider: string): number {
  if (cfg.workers > 0) return cfg.workers;
  if (provider !== 'cpu') return 1;
  return Math.max(1, Math.floor(cores / threadsPerSession(cfg, cores)));
}
