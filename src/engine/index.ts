/**
 * The engine: the only module that touches onnxruntime (through its workers). One Engine serves
 * one graph with `workers` worker threads, each holding its own session; the scheduler sends
 * batches and picks the worker for each (src/scheduler/policy.ts).
 *
 * A worker that dies after loading (native crash of the thread, out-of-memory, terminate) fails
 * its in-flight calls with EngineUnavailable (503, never a hang) and is replaced by a fresh
 * worker; the engine emits 'worker-ready' when the replacement can take calls, and 'failed' when
 * restarts keep failing (then it refuses work for good).
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ExecutionProviderName } from '../config.js';
import { EngineUnavailable } from '../errors.js';
import { initialWorkers, threadsPerSession, totalWorkers } from './layout.js';
import { transferList, type BatchBuffers, type ExitRequest, type ProviderAttempt, type RunRequest, type RunResult, type ValueInfo, type WorkerInit, type WorkerMessage, type WorkerReady } from './protocol.js';

export type { BatchBuffers, ValueInfo } from './protocol.js';
export { transferList } from './protocol.js';

export interface EngineOptions {
  graphPath: string;
  providers: ExecutionProviderName[];
  /** onnxruntime intra-op threads per session; 0 = automatic (./layout.ts) */
  intraOpThreads: number;
  /** sessions (worker threads); 0 = automatic: one per core on CPU, one on a GPU or for a big graph (./layout.ts) */
  workers: number;
  /** the graph's size on disk with its external data (bytes): the automatic layout's measure of a big graph */
  graphBytes?: number;
  /** cores to lay the sessions out on (default: os.availableParallelism()) */
  cores?: number;
  /** niceness of the inference threads (0 = as the process) */
  nice?: number;
}

export interface LoadInfo {
  provider: ExecutionProviderName;
  attempts: ProviderAttempt[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  loadMs: number;
  /** sessions (worker threads) running this graph */
  workers: number;
  /** onnxruntime intra-op threads of each */
  intraOpThreads: number;
}

/** Buffers for calls of up to `rows` rows of `n` (= C·H·W) values each. */
export function batchBuffers(rows: number, n: number): BatchBuffers {
  return { x: new Float32Array(rows * n), sigma: new Float32Array(rows), labels: new BigInt64Array(rows), out: new Float32Array(rows * n) };
}

export interface RunOutput {
  /** the call's output, rows × C·H·W: a view of `buffers.out` */
  out: Float32Array;
  buffers: BatchBuffers;
  runMs: number;
}

// Running from TypeScript sources (tsx: tests, bench) the worker is worker.ts and needs tsx's
// loader registered inside the worker thread (Node 20 does not carry loader hooks into workers);
// compiled, it is plain worker.js.
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);

function spawnWorker(init: WorkerInit): Worker {
  if (!fromSource) return new Worker(fileURLToPath(workerUrl), { workerData: init });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(boot, { eval: true, workerData: init });
}

interface Pending {
  resolve: (r: RunOutput) => void;
  reject: (e: Error) => void;
}

class SessionWorker {
  readonly worker: Worker;
  inFlight = 0;
  /** its session loaded; it may take calls */
  ready = false;
  /** its thread has ended */
  exited = false;
  readonly pending = new Map<number, Pending>();
  dead: Error | null = null;

  constructor(init: WorkerInit, onLoad: (m: WorkerMessage) => void, onDeath: (e: Error) => void) {
    this.worker = spawnWorker(init);
    this.worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') this.ready = true;
      if (m.type === 'ready' || m.type === 'load-error') return onLoad(m);
      this.settle(m);
    });
    this.worker.on('error', (e) => this.die(e instanceof Error ? e : new Error(String(e)), onDeath));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.die(new Error(`engine worker exited with code ${code}`), onDeath);
    });
  }

  private settle(m: RunResult) {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.inFlight--;
    const buffers = { x: m.x, sigma: m.sigma, labels: m.labels, out: m.out };
    if (m.type === 'result') p.resolve({ out: m.out.subarray(0, m.used), buffers, runMs: m.runMs });
    else p.reject(Object.assign(new Error(`onnxruntime run failed: ${m.message}`), { buffers }));
  }

  private die(e: Error, onDeath: (e: Error) => void) {
    if (this.dead) return;
    this.dead = e;
    const lost = new EngineUnavailable(`the inference worker running this request died (${e.message}); it is being restarted, retry`);
    for (const p of this.pending.values()) p.reject(lost);
    this.pending.clear();
    this.inFlight = 0;
    onDeath(e);
  }
}


/** Ask a worker to exit with `code` between runs; terminate it if it has not within `graceMs`. */
function stopWorker(w: SessionWorker, code: number, graceMs: number): Promise<void> {
  if (w.exited) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => void w.worker.terminate().catch(() => undefined), graceMs);
    w.worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    const req: ExitRequest = { type: 'exit', code };
    w.worker.postMessage(req);
  });
}

/** Restarts allowed per worker slot within RESTART_WINDOW_MS before the engine gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

export class Engine extends EventEmitter<{ 'worker-ready': [index: number]; 'worker-died': [index: number, error: Error]; failed: [error: Error] }> {
  private readonly slots: SessionWorker[] = [];
  private nextId = 1;
  private closing = false;
  private readonly init: WorkerInit;
  /** cores the sessions are laid out on */
  private readonly cores: number;
  /** per slot: times of recent restarts */
  private readonly restartTimes: number[][] = [];
  private readonly restartTimer = new Map<number, NodeJS.Timeout>();
  info: LoadInfo | null = null;
  /** Set when a worker died and could not be restarted; the engine then refuses work. */
  failure: Error | null = null;
  /** Workers that died after loading and were replaced (or are being replaced). */
  restarts = 0;

  constructor(private readonly opts: EngineOptions) {
    super();
    this.cores = opts.cores ?? availableParallelism();
    this.init = { graphPath: opts.graphPath, providers: opts.providers, intraOpThreads: threadsPerSession(opts, this.cores), nice: opts.nice ?? 0 };
  }

  /**
   * Start the workers; resolves when every session loaded (with the provider each uses). With an
   * automatic layout (workers 0) one session loads first and its provider decides how many
   * follow (see ./layout.ts).
   */
  async load(): Promise<LoadInfo> {
    try {
      const first = await Promise.all(Array.from({ length: initialWorkers(this.opts) }, () => this.startWorker()));
      const total = totalWorkers(this.opts, this.cores, first[0].provider);
      await Promise.all(Array.from({ length: total - first.length }, () => this.startWorker()));
      const { type: _, ...loaded } = first[0];
      this.info = { ...loaded, workers: this.slots.length, intraOpThreads: this.init.intraOpThreads };
      return this.info;
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** One more worker slot; resolves with its session's load report. */
  private startWorker(): Promise<WorkerReady> {
    return new Promise<WorkerReady>((resolve, reject) => {
      let loaded = false;
      const w = new SessionWorker(
        this.init,
        (m) => {
          loaded = true;
          if (m.type === 'ready') resolve(m);
          else if (m.type === 'load-error') reject(new Error(m.message));
        },
        (e) => {
          if (!loaded) reject(e);
          else this.replace(w, e);
        },
      );
      this.slots.push(w);
      this.restartTimes.push([]);
    });
  }

  /** A loaded worker died: start a fresh one in its slot (its in-flight calls already failed with 503). */
  private replace(dead: SessionWorker, e: Error) {
    if (this.closing || this.failure) return;
    const slot = this.slots.indexOf(dead);
    if (slot < 0) return;
    this.emit('worker-died', slot, e);
    const now = Date.now();
    const recent = this.restartTimes[slot].filter((t) => now - t < RESTART_WINDOW_MS);
    if (recent.length >= MAX_RESTARTS) {
      this.failure = new Error(`engine worker ${slot} died ${recent.length + 1} times within ${RESTART_WINDOW_MS / 1000} s (last: ${e.message}); not restarting`);
      this.emit('failed', this.failure);
      return;
    }
    // back off when a slot keeps dying (0, 0.2, 0.4, 0.8 s …) so a crash loop cannot spin
    const delay = recent.length === 0 ? 0 : 200 * 2 ** (recent.length - 1);
    recent.push(now);
    this.restartTimes[slot] = recent;
    this.restarts++;
    const start = () => {
      this.restartTimer.delete(slot);
      if (this.closing) return;
      const w = new SessionWorker(
        this.init,
        (m) => {
          if (this.closing) return;
          if (m.type === 'ready') this.emit('worker-ready', slot);
          else if (m.type === 'load-error') void w.worker.terminate(); // the exit that follows counts as a death and retries
        },
        (err) => this.replace(w, err),
      );
      this.slots[slot] = w;
    };
    if (delay === 0) start();
    else this.restartTimer.set(slot, setTimeout(start, delay));
  }

  /**
   * Fault injection for tests: worker `index` exits with code 70 as if its thread had crashed
   * (at its next JavaScript turn, see ExitRequest). Its in-flight calls fail with 503 and the
   * engine restarts it. Not reachable over HTTP. Resolves when the thread has exited.
   */
  killWorker(index: number): Promise<void> {
    const w = this.slots[index];
    if (!w) return Promise.reject(new Error(`no engine worker ${index}`));
    return stopWorker(w, 70, 30_000);
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /** Per worker: calls queued or running, and whether it can take calls (the scheduler's view, src/scheduler/backend.ts). */
  workers(): Array<{ inFlight: number; ready: boolean }> {
    return this.slots.map((w) => ({ inFlight: w.inFlight, ready: w.ready && !w.dead }));
  }

  get alive(): boolean {
    return this.slots.length > 0 && this.slots.every((w) => w.ready && !w.dead);
  }

  /**
   * Run one batch on worker `index`. The buffers are transferred (not copied) to the worker and
   * are unusable until the promise settles with them.
   */
  run(index: number, rows: number, chw: [number, number, number], buffers: BatchBuffers): Promise<RunOutput> {
    const w = this.slots[index];
    if (!w || w.dead || !w.ready) return Promise.reject(new EngineUnavailable(`engine worker ${index} is not available${w?.dead ? ` (${w.dead.message})` : ''}`));
    const id = this.nextId++;
    const req: RunRequest = { type: 'run', id, rows, chw, x: buffers.x, sigma: buffers.sigma, labels: buffers.labels, out: buffers.out };
    return new Promise<RunOutput>((resolve, reject) => {
      w.pending.set(id, { resolve, reject });
      w.inFlight++;
      w.worker.postMessage(req, transferList(buffers));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.restartTimer.values()) clearTimeout(t);
    this.restartTimer.clear();
    // a clean exit between runs; terminate() only for a worker stuck in one (it may abort the process)
    await Promise.all(this.slots.map((w) => stopWorker(w, 0, 10_000)));
  }
}
