/**
 * How many sessions (worker threads) an engine runs, and with how many onnxruntime intra-op
 * threads each — pure functions of the configuration, the cores and the provider that loaded.
 *
 * On CPU the default is one single-threaded session per core (Triton's `instance_group
 * { count: N, kind: KIND_CPU }` with one thread per instance) rather than one session spreading
 * every call over all cores: the small convolutions of a 16×16 UNet spend a large share of a
 * multi-threaded call synchronising threads, while independent single-threaded sessions need no
 * synchronisation and let one call run while the main thread prepares the next. Measured with
 * `npm run bench` on the 2-core machine: 2 sessions × 1 thread ≈ 230 images/s raw vs 1 session ×
 * 2 threads ≈ 150–210 (README "Benchmarks"). A GPU provider gets one session: the device
 * serialises its calls anyway, and one session keeps one copy of the weights on it.
 */

/** `workers` and `intraOpThreads` as configured: 0 = automatic. */
export interface LayoutConfig {
  workers: number;
  intraOpThreads: number;
}

/** The intra-op threads of every session, known before any session loads. */
export function threadsPerSession(cfg: LayoutConfig, cores: number): number {
  if (cfg.intraOpThreads > 0) return cfg.intraOpThreads;
  // explicit worker count: share the cores among them; automatic: one thread per session
  return cfg.workers > 0 ? Math.max(1, Math.floor(cores / cfg.workers)) : 1;
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
