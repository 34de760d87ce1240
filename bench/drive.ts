/**
 * HTTP load for the benchmark phases: autocannon from this process (it costs ≈ 30 % less CPU per
 * request than node:http's client, and the load generator shares the cores with the server), and
 * the /healthz probe from its own process (bench/health-probe.mjs).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { getJson, pct, type RunningServer } from '../loadtest/common.js';

const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 200_000);

export interface Drive {
  clients: number;
  imagesPerS: number;
  p50: number;
  p99: number;
  errors: number;
  /** rows per network call in the measured window (the model's scheduler counters) */
  avgRows: number;
  /** sorted latencies of the measured requests, ms */
  lat: number[];
}

type Stats = { stats?: { calls: number; rows: number } };

/** `clients` closed-loop connections for `warmS` + `seconds`; only responses in the second part count. */
export async function drive(s: RunningServer, model: string, clients: number, seconds: number, body: (i: number) => string, accept = 'image/png', warmS = 1): Promise<Drive> {
  let sent = 0;
  let measuring = false;
  let done = 0;
  let errors = 0;
  const lat: number[] = [];
  const inst = autocannon({
    url: `http://127.0.0.1:${s.port}`,
    connections: clients,
    duration: warmS + seconds + 0.5,
    timeout: 60,
    maxOverallRequests: MAX_REQUESTS,
    requests: [
      {
        method: 'POST',
        // one raw image per request has its own operation; JSON (base64) answers come from /v1/generate
        path: accept.startsWith('image/') ? '/v1/generate/image' : '/v1/generate',
        headers: { 'content-type': 'application/json', accept },
        setupRequest: (req) => ({ ...req, body: body(sent++) }),
      },
    ],
  });
  inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (!measuring) return;
    if (status === 200) {
      done++;
      lat.push(ms);
    } else errors++;
  });
  await new Promise((r) => setTimeout(r, warmS * 1000));
  const st0 = getJson<Stats>(s.port, `/v1/models/${model}`);
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const t1 = performance.now();
  const st1 = getJson<Stats>(s.port, `/v1/models/${model}`);
  inst.stop();
  await inst;
  const [a, b] = await Promise.all([st0, st1]);
  lat.sort((x, y) => x - y);
  const calls = (b?.stats?.calls ?? 0) - (a?.stats?.calls ?? 0);
  const rows = (b?.stats?.rows ?? 0) - (a?.stats?.rows ?? 0);
  return { clients, imagesPerS: done / ((t1 - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99), errors, avgRows: calls ? rows / calls : NaN, lat };
}

/** /healthz latencies (ms, sorted) from the probe process, every 25 ms for `seconds`. */
export function probeHealth(port: number, seconds: number): Promise<number[]> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['bench/health-probe.mjs', String(port), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('close', () => res((JSON.parse(out || '[]') as number[]).filter(Number.isFinite).sort((a, b) => a - b)));
  });
}
