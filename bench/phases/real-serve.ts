/**
 * Real-size benchmark, the server: the compiled service started on the model in a given engine
 * layout — how long it takes to listen and to be ready (the registry's own split: file checks,
 * session creation, warm-up), its RSS once ready and after serving — and, in the service's own
 * layout, its rows/s: at each batch size B, B one-image, one-step requests sent at once (their
 * rows add up to B; how the scheduler groups them into calls is reported as rows per call).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getJson, startServer, status } from '../../loadtest/common.js';
import type { RealModel } from '../real-model.js';

export interface ServedLayout {
  /** e.g. "1 session × 2 threads" */
  layout: string;
  env: Record<string, string>;
  /** what the service reports it runs */
  engine: { workers: number; intra_op_threads: number; ms_per_row: number | null } | null;
  /** spawn → /healthz 200 (listening), spawn → /readyz 200 (loaded and warmed), seconds */
  listenS: number;
  readyS: number;
  /** the registry's "model ready" log line: file checks (SHA-256), session creation, warm-up (ms) */
  verifyMs: number | null;
  loadMs: number | null;
  warmupMs: number | null;
  /** resident memory of the server process (MiB): once ready, after the measured requests, and its peak */
  rssReadyMiB: number;
  rssAfterMiB: number;
  peakMiB: number;
  service?: ServiceRows;
}

export interface ServiceRows {
  rowsPerS: Record<string, number>;
  rowsPerCall: Record<string, number>;
  wallMs: Record<string, number>;
  errors: number;
}

/** VmRSS and VmHWM of a process, MiB (Linux /proc; NaN elsewhere). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** The service's settings for a model whose one row takes seconds: no deadline or drain cuts a measured request short. */
export const LONG_RUN_ENV = { REQUEST_DEADLINE_MS: '3600000', SHUTDOWN_DRAIN_MS: '3600000', QUEUE_LIMIT: '4096' };

async function post(port: number, body: unknown): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/generate/image`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'image/png' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

type Stats = { stats?: { calls: number; rows: number } };

/** B one-image one-step requests at once, for each B; rows/s = B ÷ the burst's wall time. */
async function serviceRows(port: number, model: RealModel, batches: number[], log: (l: string) => void): Promise<ServiceRows> {
  const name = model.m.graph.model;
  const K = model.m.manifest.classes.length;
  const req = (i: number) => ({ model: name, class: i % K, steps: 1, guidance: 1, seed: i });
  let errors = 0;
  // one untimed image: the first request of a shape pays for allocations
  if ((await post(port, req(0))) !== 200) errors++;
  const out: ServiceRows = { rowsPerS: {}, rowsPerCall: {}, wallMs: {}, errors: 0 };
  for (const b of batches) {
    const a = await getJson<Stats>(port, `/v1/models/${name}`);
    const t0 = performance.now();
    const codes = await Promise.all(Array.from({ length: b }, (_, i) => post(port, req(1 + i))));
    const ms = performance.now() - t0;
    const z = await getJson<Stats>(port, `/v1/models/${name}`);
    errors += codes.filter((c) => c !== 200).length;
    const calls = (z?.stats?.calls ?? 0) - (a?.stats?.calls ?? 0);
    const rows = (z?.stats?.rows ?? 0) - (a?.stats?.rows ?? 0);
    out.rowsPerS[String(b)] = b / (ms / 1000);
    out.rowsPerCall[String(b)] = calls ? rows / calls : NaN;
    out.wallMs[String(b)] = ms;
    log(`  service, ${b} request(s) at once: ${(ms / 1000).toFixed(1)} s → ${(b / (ms / 1000)).toFixed(3)} rows/s (${calls} calls, ${(rows / Math.max(calls, 1)).toFixed(1)} rows per call)${codes.some((c) => c !== 200) ? `; statuses ${codes.join(',')}` : ''}`);
  }
  out.errors = errors;
  return out;
}

/**
 * Start the server on the model with `layoutEnv` (ENGINE_WORKERS / INTRA_OP_THREADS, or {} for
 * the automatic layout); measure loading and memory; with `batches`, the service's rows/s.
 */
export async function serveLayout(model: RealModel, port: number, label: string, layoutEnv: Record<string, string>, batches: number[] | null, log: (l: string) => void): Promise<ServedLayout> {
  const logLines: string[] = [];
  const env = { ...LONG_RUN_ENV, LOG_LEVEL: 'info', ...layoutEnv };
  const t0 = performance.now();
  let listenS = NaN;
  const listening = (async () => {
    while (!Number.isFinite(listenS) && performance.now() - t0 < 3_600_000) {
      if ((await status(port, '/healthz')) === 200) listenS = (performance.now() - t0) / 1000;
      else await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const s = await startServer(model.m, port, env, { logLines, readyTimeoutMs: 3_600_000 });
  const readyS = (performance.now() - t0) / 1000;
  await listening;
  try {
    const ready = logLines.map((l) => JSON.parse(l) as { msg?: string; model?: string; verifyMs?: number; loadMs?: number; warmupMs?: number }).find((l) => l.msg === 'model ready' && l.model === model.m.graph.model);
    const info = await getJson<{ engine?: ServedLayout['engine'] }>(port, `/v1/models/${model.m.graph.model}`);
    const mem0 = memoryOf(s.child.pid!);
    log(`  ${label}: listening after ${listenS.toFixed(1)} s, ready after ${readyS.toFixed(1)} s (checks ${ready?.verifyMs ?? '?'} ms, session ${ready?.loadMs ?? '?'} ms, warm-up ${ready?.warmupMs ?? '?'} ms); ${info?.engine?.workers ?? '?'} session(s) × ${info?.engine?.intra_op_threads ?? '?'} thread(s); RSS ${mem0.rss.toFixed(0)} MiB`);
    const service = batches ? await serviceRows(port, model, batches, log) : undefined;
    const mem1 = memoryOf(s.child.pid!);
    return {
      layout: label,
      env: layoutEnv,
      engine: info?.engine ? { workers: info.engine.workers, intra_op_threads: info.engine.intra_op_threads, ms_per_row: info.engine.ms_per_row ?? null } : null,
      listenS,
      readyS,
      verifyMs: ready?.verifyMs ?? null,
      loadMs: ready?.loadMs ?? null,
      warmupMs: ready?.warmupMs ?? null,
      rssReadyMiB: mem0.rss,
      rssAfterMiB: mem1.rss,
      peakMiB: mem1.hwm,
      service,
    };
  } finally {
    await s.stop();
  }
}
