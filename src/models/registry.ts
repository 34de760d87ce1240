/**
 * The model registry: scans MODELS_DIR for folders with a model.json, validates each manifest
 * (./manifest.ts), verifies the SHA-256 of every graph and of every external-data file it keeps
 * weights in (./external-data.ts), loads it in the engine, checks its I/O against the contract
 * (./contract.ts) and warms it up. A bad model is logged, kept in the list with its error (so
 * GET /v1/models says what is wrong) and skipped; the others are served.
 *
 * Nothing here blocks the event loop on a big graph: files are hashed as streams, sessions are
 * created in the engine's worker threads, and a small graph's warm-up never waits behind a big
 * one's (./warmup-gate.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { ModelStatus } from '../enums.js';
import { Engine, type LoadInfo } from '../engine/index.js';
import { Scheduler } from '../scheduler/index.js';
import { modelLimits, type ModelLimits } from '../scheduler/limits.js';
import { contractProblems } from './contract.js';
import { verifyGraphFiles } from './external-data.js';
import { describeZodError, ManifestSchema, type GraphEntry, type Manifest } from './manifest.js';
import { providerErrorLine, providersToTry } from './providers.js';
import { warmUp, type WarmupReport } from './warmup.js';
import { WarmupGate } from './warmup-gate.js';

export type { ModelStatus };

/** One servable graph (a `graphs[]` entry of a manifest), or a folder that failed before that. */
export interface ModelEntry {
  /** the name requests use: graphs[].model, or the folder name for a broken manifest */
  name: string;
  folder: string;
  status: ModelStatus;
  error?: string;
  manifest?: Manifest;
  graph?: GraphEntry;
  load?: LoadInfo;
  /** bytes on disk of the graph and its external-data files */
  graphBytes?: number;
  /** the warm-up's batch-size profile and batch target */
  warmup?: WarmupReport;
  /** deadline, queue limit and largest request, from the warm-up's measured cost or the configuration */
  limits?: ModelLimits;
  engine?: Engine;
  scheduler?: Scheduler;
}

export class Registry {
  readonly entries = new Map<string, ModelEntry>();
  private readonly loading: Promise<void>[] = [];
  /** warm-ups of graphs of a size run one after another, a small one never behind a big one (./warmup-gate.ts) */
  private readonly warming = new WarmupGate();
  /** called when a graph's scheduler is created (metrics attach their listeners here) */
  onScheduler: ((entry: ModelEntry) => void) | null = null;

  constructor(
    private readonly cfg: Config,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Scan the folder and start loading every graph; resolves when all are ready or failed. */
  async loadAll(): Promise<void> {
    const dir = resolve(this.cfg.MODELS_DIR);
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch (e) {
      this.log.error({ dir, err: (e as Error).message }, 'cannot read the models folder; serving no models');
      return;
    }
    for (const folder of names) {
      const path = join(dir, folder);
      let manifest: Manifest;
      try {
        const text = await readFile(join(path, 'model.json'), 'utf8').catch((e: NodeJS.ErrnoException) => {
          throw e.code === 'ENOENT' ? Object.assign(new Error('no model.json'), { skip: true }) : e;
        });
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (e) {
          throw new Error(`model.json is not valid JSON: ${(e as Error).message}`, { cause: e });
        }
        const r = ManifestSchema.safeParse(json);
        if (!r.success) throw new Error(`model.json is invalid: ${describeZodError(r.error)}`);
        manifest = r.data;
      } catch (e) {
        if ((e as { skip?: boolean }).skip) {
          this.log.warn({ folder }, 'folder has no model.json; ignored');
          continue;
        }
        this.fail({ name: folder, folder, status: 'error' }, (e as Error).message);
        continue;
      }
      for (const graph of manifest.graphs) {
        if (this.entries.has(graph.model)) {
          this.log.error({ folder, model: graph.model }, 'duplicate model name; the later one is skipped');
          continue;
        }
        const entry: ModelEntry = { name: graph.model, folder, status: 'loading', manifest, graph };
        this.entries.set(entry.name, entry);
        this.loading.push(this.loadGraph(entry, join(path, graph.file)));
      }
    }
    await Promise.all(this.loading);
  }

  private fail(entry: ModelEntry, error: string) {
    entry.status = 'error';
    entry.error = error;
    if (!this.entries.has(entry.name)) this.entries.set(entry.name, entry);
    this.log.error({ model: entry.name, folder: entry.folder, error }, 'model skipped');
  }

  private async loadGraph(entry: ModelEntry, path: string): Promise<void> {
    const m = entry.manifest!;
    const g = entry.graph!;
    try {
      const t0 = performance.now();
      const { bytes } = await verifyGraphFiles(path, g);
      const verifyMs = performance.now() - t0;
      entry.graphBytes = bytes;
      // providers that cannot work here are not tried (no native warnings), and are reported as skipped
      const { tryList, skipped } = providersToTry(this.cfg.EXECUTION_PROVIDERS);
      const engine = new Engine({
        graphPath: path,
        providers: tryList,
        intraOpThreads: this.cfg.INTRA_OP_THREADS,
        nice: this.cfg.ENGINE_NICE,
        workers: this.cfg.ENGINE_WORKERS,
        graphBytes: bytes,
      });
      const loaded = await engine.load();
      // every provider preferred to the one in use, in the configured order: skipped here, or tried and failed
      const before = this.cfg.EXECUTION_PROVIDERS.slice(0, this.cfg.EXECUTION_PROVIDERS.indexOf(loaded.provider));
      const attempts = before.flatMap((p) => [...skipped, ...loaded.attempts].filter((a) => a.provider === p).slice(0, 1));
      const info = { ...loaded, attempts: attempts.map((a) => ({ ...a, error: providerErrorLine(a.error) })) };
      const problems = contractProblems(info.inputs, info.outputs, m.image);
      if (problems.length) {
        await engine.close();
        throw new Error(`graph ${g.file} breaks the model contract: ${problems.join('; ')}`);
      }
      entry.engine = engine;
      entry.load = info;
      // graphs of a size profile one at a time: side by side they would distort each other's timings
      const report = await this.warming.run(bytes, () => warmUp(engine, [m.image.channels, m.image.height, m.image.width], m.sigma.max, this.cfg.MAX_BATCH, this.cfg.WARMUP_BUDGET_MS));
      entry.warmup = report;
      // deadline, queue limit and largest request follow the model's measured cost (a network
      // that takes seconds per row must not get limits tuned for a 16×16 one)
      const guided = g.null_class !== null;
      const limits = modelLimits({
        cost: { msPerRow: report.msPerRow, rowsPerS: Math.max(0, ...report.profile.map((p) => p.rowsPerS)) },
        rowsPerImage: m.default_steps * (guided ? 2 : 1),
        maxImages: this.cfg.MAX_IMAGES,
        deadlineMs: this.cfg.REQUEST_DEADLINE_MS,
        queueLimit: this.cfg.QUEUE_LIMIT,
      });
      entry.limits = limits;
      entry.scheduler = new Scheduler(engine, {
        channels: m.image.channels,
        height: m.image.height,
        width: m.image.width,
        sigmaMin: m.sigma.min,
        clamp: m.clamp,
        maxRows: this.cfg.MAX_BATCH,
        targetRows: this.cfg.BATCH_TARGET_ROWS || report.targetRows,
        maxWaitMs: this.cfg.MAX_WAIT_MS,
        wait: this.cfg.BATCH_WAIT,
        queueLimit: limits.queueLimit,
        pipelineDepth: this.cfg.PIPELINE_DEPTH,
        deadlineMs: limits.deadlineMs,
        initialRowsPerS: Math.max(0, ...report.profile.map((p) => p.rowsPerS)),
        batching: this.cfg.BATCHING,
      });
      this.onScheduler?.(entry);
      entry.status = 'ready';
      this.log.info(
        {
          model: entry.name,
          provider: info.provider,
          attempts: info.attempts,
          graphBytes: bytes,
          weights: g.weights_dtype,
          workers: info.workers,
          intraOpThreads: info.intraOpThreads,
          verifyMs: Math.round(verifyMs),
          loadMs: Math.round(info.loadMs),
          warmupMs: Math.round(report.wallMs),
          msPerRow: Math.round(report.msPerRow * 10) / 10,
          targetRows: entry.scheduler.targetRows,
          ...limits,
        },
        'model ready',
      );
    } catch (e) {
      this.fail(entry, (e as Error).message);
    }
  }

  get(name: string): ModelEntry | undefined {
    return this.entries.get(name);
  }

  /** The model a request without `model` uses: DEFAULT_MODEL, else the first ready guided graph, else the first ready one. */
  defaultName(): string | undefined {
    if (this.cfg.DEFAULT_MODEL) return this.cfg.DEFAULT_MODEL;
    const ready = [...this.entries.values()].filter((e) => e.status === 'ready');
    return (ready.find((e) => e.graph?.null_class !== null) ?? ready[0])?.name;
  }

  /**
   * Every enabled model is loaded, warmed and has live workers (and there is at least one).
   * Models whose folder failed to load do not make the service unready (the healthy ones serve)
   * but are listed in `failed`, so /readyz shows them.
   */
  ready(): { ready: boolean; reason: string; failed: Array<{ model: string; error: string }> } {
    const all = [...this.entries.values()];
    const failed = all.filter((e) => e.status === 'error').map((e) => ({ model: e.name, error: e.error ?? 'failed to load' }));
    const loading = all.filter((e) => e.status === 'loading');
    if (loading.length) return { ready: false, reason: `loading ${loading.map((e) => e.name).join(', ')}`, failed };
    const dead = all.filter((e) => e.status === 'ready' && !e.engine?.alive);
    if (dead.length)
      return {
        ready: false,
        reason: `engine workers down for ${dead.map((e) => `${e.name} (${e.engine?.failure ? `failed: ${e.engine.failure.message}` : 'restarting'})`).join(', ')}`,
        failed,
      };
    if (!all.some((e) => e.status === 'ready')) return { ready: false, reason: 'no model loaded', failed };
    return { ready: true, reason: failed.length ? `ok; ${failed.length} model(s) failed to load and are not served` : 'ok', failed };
  }

  async close(): Promise<void> {
    for (const e of this.entries.values()) e.scheduler?.close();
    await Promise.all([...this.entries.values()].map((e) => e.engine?.close()));
  }
}
