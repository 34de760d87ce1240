/**
 * `npm run bench`: served throughput at saturation vs raw onnxruntime, side by side in one run.
 *
 *  1. raw: one onnxruntime session with the service's own session options runs full batches of
 *     MAX_BATCH rows back to back (no HTTP, no scheduler) → network rows/s; a guided 2-step
 *     image needs 4 rows, so raw images/s = rows/s / 4.
 *  2. served: the real server (compiled dist/server.js, child process) on loopback; 64
 *     concurrent clients loop one-image, guided, 2-step requests (Accept: image/png) for a fixed
 *     time; meanwhile GET /healthz is probed every 25 ms and its latency recorded.
 *
 * Bounded: each phase stops after BENCH_SECONDS (default 10) or BENCH_MAX_REQUESTS requests.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../src/engine/session.js';
import { ManifestSchema } from '../src/models/manifest.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 200_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const MAX_BATCH = Number(process.env.MAX_BATCH ?? 64);
const THREADS = Number(process.env.INTRA_OP_THREADS ?? availableParallelism());
const PORT = Number(process.env.BENCH_PORT ?? 18080);
const STEPS = 2;

function pickModelsDir(): string {
  if (process.env.MODELS_DIR) return process.env.MODELS_DIR;
  for (const d of ['models', 'test/fixtures/models']) if (existsSync(d)) return d;
  throw new Error('no models folder (models/ or test/fixtures/models/)');
}

const modelsDir = resolve(pickModelsDir());
// the first guided graph of the first model folder with one (BENCH_MODEL picks another)
let found: { folder: string; manifest: ReturnType<typeof ManifestSchema.parse>; graph: ReturnType<typeof ManifestSchema.parse>['graphs'][number] } | null = null;
for (const folder of (await import('node:fs')).readdirSync(modelsDir).sort()) {
  const p = join(modelsDir, folder, 'model.json');
  if (!existsSync(p)) continue;
  const m = ManifestSchema.safeParse(JSON.parse(readFileSync(p, 'utf8')));
  if (!m.success) continue;
  const g = m.data.graphs.find((x) => (process.env.BENCH_MODEL ? x.model === process.env.BENCH_MODEL : x.null_class !== null));
  if (g) {
    found = { folder, manifest: m.data, graph: g };
    break;
  }
}
if (!found) throw new Error(`no guided graph under ${modelsDir}`);
const { manifest, graph } = found;
const guidance = graph.null_class !== null ? (graph.guidance.default !== 1 ? graph.guidance.default : Math.min(graph.guidance.max, 1.5)) : 1;
const rowsPerImage = (guidance !== 1 ? 2 : 1) * STEPS;
const { channels: C, height: H, width: W } = manifest.image;
const N = C * H * W;
console.log(`model ${graph.model} (${C}×${H}×${W}, ${manifest.classes.length} classes) guidance ${guidance}, ${STEPS} steps → ${rowsPerImage} rows/image`);
console.log(`MAX_BATCH ${MAX_BATCH} rows, intra-op threads ${THREADS}, ${CONCURRENCY} concurrent clients, ${SECONDS}s per phase, ${availableParallelism()} cores`);

// ---------- 1. raw onnxruntime ----------
async function raw(): Promise<{ rowsPerS: number; msPerCall: number }> {
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(join(modelsDir, found!.folder, graph.file), sessionOptions('cpu', THREADS));
  const x = new Float32Array(MAX_BATCH * N);
  for (let i = 0; i < x.length; i++) x[i] = (Math.random() * 2 - 1) * 10;
  const sigma = new Float32Array(MAX_BATCH).map((_, i) => (i % 2 ? manifest.sigma.max : 2));
  const labels = new BigInt64Array(MAX_BATCH).map((_, i) => BigInt(i % 2 && graph.null_class !== null ? graph.null_class : i % manifest.classes.length));
  const feeds = {
    x: new ort.Tensor('float32', x, [MAX_BATCH, C, H, W]),
    sigma: new ort.Tensor('float32', sigma, [MAX_BATCH]),
    class_labels: new ort.Tensor('int64', labels, [MAX_BATCH]),
  };
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    await session.run(feeds);
    calls++;
  }
  const dt = (performance.now() - t0) / 1000;
  await session.release();
  return { rowsPerS: (calls * MAX_BATCH) / dt, msPerCall: (dt * 1000) / calls };
}

// ---------- 2. served ----------
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });

function request(method: string, path: string, body?: string, accept = 'application/json'): Promise<{ status: number; bytes: number }> {
  return new Promise((resolveP, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: PORT, method, path, agent, headers: body ? { 'content-type': 'application/json', accept, 'content-length': Buffer.byteLength(body) } : { accept } },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolveP({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function waitReady(timeoutMs: number) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    try {
      if ((await request('GET', '/readyz')).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not become ready');
}

function pct(sorted: number[], p: number) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

async function served() {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = spawn(process.execPath, [...nodeArgs, 'dist/server.js'], {
    env: { ...process.env, PORT: String(PORT), HOST: '127.0.0.1', MODELS_DIR: modelsDir, MAX_BATCH: String(MAX_BATCH), INTRA_OP_THREADS: String(THREADS), EXECUTION_PROVIDERS: 'cpu', LOG_LEVEL: 'warn', QUEUE_LIMIT: String(Math.max(1024, CONCURRENCY * 2)) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitReady(120_000);
    const mk = (i: number) => JSON.stringify({ model: graph.model, class: i % manifest.classes.length, guidance, steps: STEPS, seed: i });
    let stop = false;
    let measuring = false;
    let done = 0;
    let errors = 0;
    let sent = 0;
    const latencies: number[] = [];
    const client = async (c: number) => {
      while (!stop && sent < MAX_REQUESTS) {
        const i = sent++;
        const t = performance.now();
        const r = await request('POST', '/v1/generate', mk(i * CONCURRENCY + c), 'image/png').catch(() => ({ status: 0, bytes: 0 }));
        if (!measuring) continue;
        if (r.status === 200) {
          done++;
          latencies.push(performance.now() - t);
        } else errors++;
      }
    };
    // /healthz is probed every 25 ms from a separate process, so the latency measured is the
    // server's and not this process's event loop, busy with 64 client loops
    const proberCode = `
      const http = require('node:http');
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const lat = []; const t0 = Date.now();
      const once = () => new Promise((res) => { const t = process.hrtime.bigint();
        http.get({ host: '127.0.0.1', port: ${PORT}, path: '/healthz', agent }, (r) => { r.resume(); r.on('end', () => res(Number(process.hrtime.bigint() - t) / 1e6)); }).on('error', () => res(NaN)); });
      (async () => { while (Date.now() - t0 < ${SECONDS * 1000}) { await new Promise((r) => setTimeout(r, 25)); lat.push(await once()); }
        process.stdout.write(JSON.stringify(lat)); agent.destroy(); })();`;
    const startProber = () => new Promise<number[]>((res) => {
      const child = spawn(process.execPath, ['-e', proberCode], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.on('close', () => res(JSON.parse(out || '[]')));
    });
    const clients = Array.from({ length: CONCURRENCY }, (_, c) => client(c));
    await new Promise((r) => setTimeout(r, 2000)); // reach steady state first
    const stats0 = await modelStats();
    measuring = true;
    const t0 = performance.now();
    const probe = startProber();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    measuring = false;
    const dt = (performance.now() - t0) / 1000;
    const stats1 = await modelStats();
    const health = await probe;
    stop = true;
    await Promise.all(clients);
    latencies.sort((a, b) => a - b);
    health.sort((a, b) => a - b);
    const calls = (stats1?.calls ?? 0) - (stats0?.calls ?? 0);
    const rows = (stats1?.rows ?? 0) - (stats0?.rows ?? 0);
    return { imagesPerS: done / dt, errors, p50: pct(latencies, 50), p99: pct(latencies, 99), healthP50: pct(health, 50), healthP99: pct(health, 99), healthN: health.length, avgRows: calls ? rows / calls : NaN };
  } finally {
    server.kill('SIGTERM');
  }
}

async function modelStats(): Promise<{ calls: number; rows: number } | null> {
  return new Promise((res) => {
    http.get({ host: '127.0.0.1', port: PORT, path: `/v1/models/${graph.model}`, agent }, (r) => {
      let s = '';
      r.on('data', (c) => (s += c));
      r.on('end', () => {
        try {
          res(JSON.parse(s).stats ?? null);
        } catch {
          res(null);
        }
      });
    }).on('error', () => res(null));
  });
}

const r = await raw();
const rawImages = r.rowsPerS / rowsPerImage;
console.log(`raw onnxruntime: ${r.rowsPerS.toFixed(0)} rows/s (${r.msPerCall.toFixed(2)} ms per ${MAX_BATCH}-row call) → ${rawImages.toFixed(1)} images/s equivalent`);
const s = await served();
const ratio = s.imagesPerS / rawImages;
const lines = [
  '',
  '| metric | value | goal |',
  '| --- | --- | --- |',
  `| raw onnxruntime (batch ${MAX_BATCH}) | ${rawImages.toFixed(1)} images/s (${r.rowsPerS.toFixed(0)} rows/s) | |`,
  `| served, ${CONCURRENCY} concurrent | ${s.imagesPerS.toFixed(1)} images/s (avg ${s.avgRows.toFixed(1)} rows/call, ${s.errors} errors) | |`,
  `| served / raw | ${ratio.toFixed(3)} | ≥ 0.85 |`,
  `| request latency p50 / p99 | ${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} ms | |`,
  `| /healthz p50 / p99 while saturated (${s.healthN} probes) | ${s.healthP50.toFixed(2)} / ${s.healthP99.toFixed(2)} ms | p99 ≤ 20 ms |`,
];
console.log(lines.join('\n'));
mkdirSync('test-output', { recursive: true });
writeFileSync('test-output/bench.json', JSON.stringify({ model: graph.model, maxBatch: MAX_BATCH, threads: THREADS, concurrency: CONCURRENCY, raw: { ...r, imagesPerS: rawImages }, served: s, ratio }, null, 2));
agent.destroy();
