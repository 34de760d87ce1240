/**
 * `npm run loadtest`: autocannon against the real server (dist/server.js, child process, loopback).
 *
 *  (a) latency     — 1 client, one image per request (guided, 2 steps)
 *  (b) throughput  — 64 clients, mixed workload (steps 1–4, guidance 0–4)
 *  (c) overload    — 4× the capacity measured in (b), offered for 30 s by 512 connections
 *  (d) /healthz    — probe latency (separate process, 20/s) while (b) runs
 *
 * Prints a table (requests/s, images/s, p50/p90/p99/max latency, non-2xx by code) and writes
 * loadtest/results/loadtest.json. The server runs with QUEUE_LIMIT=128 (LOADTEST_QUEUE_LIMIT) so
 * that overload shows backpressure (fast 503 + Retry-After) rather than only a longer queue.
 * Every phase is bounded in time (LOADTEST_SECONDS scales a, b; c is 30 s) and count.
 *
 * `npm run loadtest -- --target URL [--label TEXT]` drives an already running deployment instead
 * (haproxy in front of replicas, e.g. `npm run deploy:local`): no server of its own, the same
 * phases against URL, the deployment's own configuration (its QUEUE_LIMIT), results written to
 * loadtest/results/loadtest-target.json (--out to change).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon, { type Options, type Result } from 'autocannon';
import { fmt, guidanceOf, machine, mixedBody, pickModel, rng, startServer, type RunningServer } from './common.js';

const SECONDS = Number(process.env.LOADTEST_SECONDS ?? 15);
const OVERLOAD_SECONDS = Number(process.env.LOADTEST_OVERLOAD_SECONDS ?? 30);
const PORT = Number(process.env.LOADTEST_PORT ?? 18090);
const QUEUE_LIMIT = Number(process.env.LOADTEST_QUEUE_LIMIT ?? 128);
const MAX_REQUESTS = 500_000;

const { values: args } = parseArgs({ options: { target: { type: 'string' }, label: { type: 'string' }, out: { type: 'string' } } });
const target = args.target ? new URL(args.target) : null;
if (target && target.protocol !== 'http:') throw new Error(`--target: an http:// URL (got ${args.target})`);
const m = pickModel();
const url = target ? target.origin : `http://127.0.0.1:${PORT}`;
const headers = { 'content-type': 'application/json' };
console.log(`loadtest: model ${m.graph.model} (${m.manifest.image.channels}×${m.manifest.image.height}×${m.manifest.image.width}) on ${url}, ${target ? `a running deployment${args.label ? ` (${args.label})` : ''}` : `QUEUE_LIMIT ${QUEUE_LIMIT}`}`);

/** autocannon with a progress line every 5 s (works without a TTY too). */
function cannon(name: string, o: Omit<Options, 'url'>): Promise<Result> {
  const inst = autocannon({ url, timeout: 60, maxOverallRequests: MAX_REQUESTS, ...o });
  let ticks = 0;
  let done = 0;
  inst.on('response', () => done++);
  inst.on('tick', () => {
    if (++ticks % 5 === 0) process.stderr.write(`  ${name}: ${ticks}/${o.duration}s, ${done} responses\n`);
  });
  return new Promise((resolve, reject) => inst.then(resolve, reject));
}

function mixedRequests(seed: number) {
  return [
    {
      method: 'POST',
      path: '/v1/generate',
      headers,
      setupRequest: (req: { body?: string }, ctx: Record<string, unknown>) => {
        const r = (ctx.rng ??= rng(seed + Math.floor(Math.random() * 1e9))) as () => number;
        return { ...req, body: mixedBody(m, r) };
      },
    },
  ];
}

function probe(base: string, seconds: number): Promise<Result | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['loadtest/probe.mjs', base, String(seconds), '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as Result);
      } catch {
        resolve(null);
      }
    });
  });
}

interface Row {
  scenario: string;
  connections: number;
  seconds: number;
  requests_per_s: number;
  images_per_s: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  non2xx: Record<string, number>;
  errors: number;
  timeouts: number;
  offered_per_s?: number;
}

function row(scenario: string, connections: number, r: Result, imagesPerRequest = 1): Row {
  const codes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) if (!code.startsWith('2')) codes[code] = Number(s.count);
  return {
    scenario,
    connections,
    seconds: r.duration,
    requests_per_s: r.requests.total / r.duration,
    images_per_s: (r['2xx'] * imagesPerRequest) / r.duration,
    p50_ms: r.latency.p50,
    p90_ms: r.latency.p90,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    non2xx: codes,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

/** A deployment under test must be ready and serve the model this run sends. */
async function checkTarget(): Promise<void> {
  const ready = await fetch(`${url}/readyz`).then((r) => r.status, (e: Error) => e.message);
  if (ready !== 200) throw new Error(`--target ${url}: /readyz answered ${ready}`);
  const models = (await fetch(`${url}/v1/models`).then((r) => r.json())) as { models?: Array<{ name: string }> };
  if (!models.models?.some((x) => x.name === m.graph.model)) throw new Error(`--target ${url} does not serve ${m.graph.model}`);
}

let server: RunningServer | null = null;
if (target) await checkTarget();
else server = await startServer(m, PORT, { QUEUE_LIMIT: String(QUEUE_LIMIT), REQUEST_DEADLINE_MS: '30000' });
const rows: Row[] = [];
let probeResult: Result | null;
try {
  // warm-up: a few seconds of the mixed load so kernels, buffers and the JIT are warm
  await cannon('warm-up', { connections: 16, duration: 3, requests: mixedRequests(7) });

  console.log(`(a) latency: 1 client, one guided 2-step image per request, ${SECONDS}s`);
  const body = JSON.stringify({ model: m.graph.model, class: 3 % m.manifest.classes.length, guidance: guidanceOf(m), steps: 2 });
  rows.push(row('(a) latency, 1 client', 1, await cannon('(a)', { connections: 1, duration: SECONDS, requests: [{ method: 'POST', path: '/v1/generate', headers, body }] })));

  console.log(`(b) throughput: 64 clients, mixed steps 1–4 and guidance 0–4, ${SECONDS}s; (d) /healthz probed meanwhile`);
  const probing = probe(url, Math.max(1, SECONDS - 1));
  rows.push(row('(b) throughput, mixed', 64, await cannon('(b)', { connections: 64, duration: SECONDS, requests: mixedRequests(11) })));
  probeResult = await probing;

  const capacity = rows[1].requests_per_s;
  const offered = Math.max(4, Math.round(4 * capacity));
  console.log(`(c) overload: ${offered} requests/s offered (4× ${fmt(capacity)}) by 512 connections, ${OVERLOAD_SECONDS}s`);
  const over = row('(c) overload 4×, mixed', 512, await cannon('(c)', { connections: 512, duration: OVERLOAD_SECONDS, overallRate: offered, requests: mixedRequests(13) }));
  over.offered_per_s = offered;
  rows.push(over);
  const after = await fetch(`${url}/healthz`).then((r) => r.status, () => 0);
  if (after !== 200) throw new Error(`server unhealthy after overload (${after})`);
} finally {
  if (server) {
    const code = await server.stop();
    if (code !== 0) console.error(`server exited with ${code}`);
  }
}

if (probeResult) {
  const p = probeResult;
  const codes: Record<string, number> = {};
  for (const [code, s] of Object.entries(p.statusCodeStats ?? {})) if (!code.startsWith('2')) codes[code] = Number(s.count);
  rows.push({
    scenario: '(d) /healthz during (b)',
    connections: 1,
    seconds: p.duration,
    requests_per_s: p.requests.total / p.duration,
    images_per_s: 0,
    p50_ms: p.latency.p50,
    p90_ms: p.latency.p90,
    p99_ms: p.latency.p99,
    max_ms: p.latency.max,
    non2xx: codes,
    errors: p.errors,
    timeouts: p.timeouts,
  });
}

const codes = (r: Row) => {
  const parts = Object.entries(r.non2xx).map(([c, n]) => `${c}: ${n}`);
  if (r.errors) parts.push(`errors: ${r.errors}`);
  if (r.timeouts) parts.push(`timeouts: ${r.timeouts}`);
  return parts.join(', ') || '0';
};
const table = [
  '| scenario | conns | requests/s | images/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ...rows.map((r) => `| ${r.scenario}${r.offered_per_s ? ` (offered ${r.offered_per_s}/s)` : ''} | ${r.connections} | ${fmt(r.requests_per_s)} | ${r.images_per_s ? fmt(r.images_per_s) : '–'} | ${fmt(r.p50_ms)} | ${fmt(r.p90_ms)} | ${fmt(r.p99_ms)} | ${fmt(r.max_ms)} | ${codes(r)} |`),
].join('\n');
console.log(`\n${table}\n`);
console.log('requests/s counts every answer (2xx and non-2xx); images/s counts 2xx only; latency is over all answers.');
const out = args.out ?? (target ? 'loadtest/results/loadtest-target.json' : 'loadtest/results/loadtest.json');
mkdirSync('loadtest/results', { recursive: true });
const setup = target ? { target: url, label: args.label ?? null } : { queue_limit: QUEUE_LIMIT };
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine: machine(), model: m.graph.model, ...setup, rows, table }, null, 2) + '\n');
console.log(`written ${out}`);
