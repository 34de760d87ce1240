/**
 * What `npm run loadtest` (loadtest/run.ts) and `npm run bench` (bench/main.ts) share: the
 * model under test, the real server as a child process on loopback, the mixed workload, and the
 * machine description written next to the results.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { ManifestSchema, type GraphEntry, type Manifest } from '../src/models/manifest.js';

export interface ModelUnderTest {
  modelsDir: string;
  folder: string;
  manifest: Manifest;
  graph: GraphEntry;
}

/** models/ (digits16) when present, else the tiny test fixture; BENCH_MODEL picks a graph by name. */
export function pickModel(): ModelUnderTest {
  const candidates = process.env.MODELS_DIR ? [process.env.MODELS_DIR] : ['models', 'test/fixtures/models'];
  for (const d of candidates) {
    if (!existsSync(d)) continue;
    const modelsDir = resolve(d);
    for (const folder of readdirSync(modelsDir).sort()) {
      const p = join(modelsDir, folder, 'model.json');
      if (!existsSync(p)) continue;
      const m = ManifestSchema.safeParse(JSON.parse(readFileSync(p, 'utf8')));
      if (!m.success) continue;
      const g = m.data.graphs.find((x) => (process.env.BENCH_MODEL ? x.model === process.env.BENCH_MODEL : x.null_class !== null));
      if (g) return { modelsDir, folder, manifest: m.data, graph: g };
    }
  }
  throw new Error('no guided graph under models/ or test/fixtures/models/');
}

/** A small seeded PRNG (mulberry32) so a workload is the same every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The mixed workload: one image per request, steps 1–4, guidance drawn from 0 (unconditional),
 * 1 (plain conditional, one row per step) and guided values up to the model's maximum (≤ 4).
 */
export function mixedBody(m: ModelUnderTest, r: () => number): string {
  const g = m.graph.guidance;
  const choices = [0, 1, 1.3, 2, 4].filter((w) => w >= g.min && w <= g.max && (w === 1 || m.graph.null_class !== null));
  const steps = 1 + Math.floor(r() * Math.min(4, m.manifest.max_steps));
  return JSON.stringify({
    model: m.graph.model,
    class: Math.floor(r() * m.manifest.classes.length),
    guidance: choices[Math.floor(r() * choices.length)],
    steps,
    seed: Math.floor(r() * 2 ** 32),
  });
}

/** The guidance of the uniform (guided, 2-step) workload: the graph default, else 1.5 capped at its maximum. */
export function guidanceOf(m: ModelUnderTest): number {
  const g = m.graph;
  return g.null_class !== null ? (g.guidance.default !== 1 ? g.guidance.default : Math.min(g.guidance.max, 1.5)) : 1;
}

export interface RunningServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

/**
 * The compiled server (dist/server.js) on 127.0.0.1, ready (/readyz 200) before this resolves.
 * `opts.logLines` collects its stdout lines (pino JSON; pass LOG_LEVEL in `env` for more than
 * warnings) instead of printing them; `opts.readyTimeoutMs` bounds the wait (default 120 s).
 */
export async function startServer(m: ModelUnderTest, port: number, env: Record<string, string> = {}, opts: { logLines?: string[]; readyTimeoutMs?: number } = {}): Promise<RunningServer> {
  const child = spawn(process.execPath, ['dist/server.js'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MODELS_DIR: m.modelsDir, EXECUTION_PROVIDERS: 'cpu', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', opts.logLines ? 'pipe' : 'inherit', 'inherit'],
  });
  if (opts.logLines) {
    let rest = '';
    child.stdout!.on('data', (c: Buffer) => {
      const lines = (rest + c.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      opts.logLines!.push(...lines.filter(Boolean));
    });
  }
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const t0 = Date.now();
  const limit = opts.readyTimeoutMs ?? 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if ((await status(port, '/readyz')) === 200) break;
    if (Date.now() - t0 > limit) {
      child.kill('SIGKILL');
      throw new Error(`server did not become ready in ${Math.round(limit / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 40_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export function status(port: number, path: string): Promise<number> {
  return new Promise((r) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () => r(res.statusCode ?? 0));
      })
      .on('error', () => r(0));
  });
}

export function getJson<T>(port: number, path: string): Promise<T | null> {
  return new Promise((r) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => {
          try {
            r(JSON.parse(s) as T);
          } catch {
            r(null);
          }
        });
      })
      .on('error', () => r(null));
  });
}

/** What the numbers were measured on. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  const ortVersion = (() => {
    try {
      return JSON.parse(readFileSync('node_modules/onnxruntime-node/package.json', 'utf8')).version as string;
    } catch {
      return 'unknown';
    }
  })();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntime_node: ortVersion,
    execution_provider: 'cpu',
    loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
    note: 'a shared 2-core development machine: other work may have run at the same time',
  };
}

export const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
export const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
