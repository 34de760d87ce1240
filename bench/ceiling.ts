/**
 * `npm run bench:ceiling`: where the service's time and cores go that raw onnxruntime does not
 * spend — the two limits behind the ratios of `npm run bench` (bench/main.ts), measured side by
 * side in one run on the model under test (bench/workload.ts):
 *
 *  A. One client, piece by piece: the HTTP round trip floor (GET /healthz), the end-to-end
 *     latency of a guided 2-step image and the server's own Server-Timing (queue, compute,
 *     encode); then raw onnxruntime's best lone-image layout (two single-threaded sessions side by
 *     side) run back to back, as the ratio's baseline does, and again with the idle pause the
 *     service's sessions see between one client's requests (end to end − compute): a session
 *     that has slept runs its next call slower.
 *     Then the floor: the same requests to a bare node:http server (bench/bare-server.mjs: no
 *     framework and no work, an answer of the service's size), and raw onnxruntime with that
 *     round trip as its pause — the least any HTTP service in Node could take here, and so the
 *     best one-client ratio this machine allows. The service, the floor and the three raw
 *     measures run in alternating rounds, so a drift of the machine's speed hits them alike.
 *  B. Saturation, CPU by thread: `clients` closed-loop clients for `seconds`, with the CPU time
 *     of the server's main thread (HTTP, validation, scheduler, PNG), of its other threads (the
 *     inference sessions and helpers) and of the load generator (autocannon, in this process),
 *     from /proc (Linux). Raw onnxruntime has every core for inference; the service's sessions
 *     have what the main thread and the load generator leave — the ceiling printed beside the
 *     measured ratio to raw onnxruntime at the service's batch. Then the floor again: the bare
 *     server under the same load generator at the service's request rate, whose main thread and
 *     client leave the ceiling no Node HTTP front end can pass here.
 *
 * Bounded: BENCH_CEILING_REQUESTS lone requests (default 400), BENCH_CEILING_SECONDS of load
 * (default 10) after 5 s of warm-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { pct, startServer } from '../loadtest/common.js';
import { drive } from './drive.js';
import { rawLatency, rawThroughput } from './raw.js';
import { workload } from './workload.js';

const N = Number(process.env.BENCH_CEILING_REQUESTS ?? 400);
const SECONDS = Number(process.env.BENCH_CEILING_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_CONCURRENCY ?? 64);
const PORT = Number(process.env.BENCH_PORT ?? 18084);
const BARE_PORT = PORT + 1;
const w = workload();
const env = { MAX_BATCH: String(w.maxBatch), QUEUE_LIMIT: String(Math.max(1024, CLIENTS * 2)) };
const median = (xs: number[]) =>
  pct(
    [...xs].sort((a, b) => a - b),
    50,
  );
const ms = (x: number) => `${x.toFixed(2)} ms`;

/** One request on a keep-alive connection: ms end to end, status, Server-Timing durations. */
function request(agent: http.Agent, method: string, path: string, body?: string, port = PORT): Promise<{ ms: number; status: number; bytes: number; timing: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const headers: Record<string, string | number> = body
      ? { 'content-type': 'application/json', accept: 'image/png', 'content-length': Buffer.byteLength(body) }
      : {};
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => {
        const timing: Record<string, number> = {};
        for (const part of String(res.headers['server-timing'] ?? '').split(',')) {
          const [k, v] = part.trim().split(';dur=');
          if (k && v) timing[k] = Number(v);
        }
        resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, bytes, timing });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU seconds (user + system) of each thread of process `pid`, by thread id. */
function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      // fields after the ")" of comm: state is field 3, utime 14, stime 15 (proc(5))
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // the thread ended between listing and reading
    }
  }
  return out;
}

/** Start bench/bare-server.mjs answering POSTs with `bytes` bytes; resolves once it listens. */
function bareServer(bytes: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bench/bare-server.mjs', String(BARE_PORT), String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
    child.stdout!.once('data', () => resolve(child));
  });
}

/**
 * Run `load` and return its result with the CPU it cost, as shares of the machine: the main
 * thread of process `pid`, its other threads, and this process (the load generator).
 */
async function cpuShares<T>(pid: number, load: () => PromiseLike<T>) {
  const before = threadCpu(pid);
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await load();
  const wall = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  let main = 0;
  let rest = 0;
  for (const [tid, t] of threadCpu(pid)) {
    const d = t - (before.get(tid) ?? 0);
    if (tid === pid) main += d;
    else rest += d;
  }
  const machine = w.cores * wall;
  return { result, main: main / machine, rest: rest / machine, client: (own.user + own.system) / 1e6 / machine, wall };
}

console.log(`bench:ceiling — ${w.m.graph.model}, guided ${w.sigmas.length}-step, ${w.cores} cores`);

// A. one client, in ROUNDS alternating rounds (the VM's speed drifts by tens of percent within
// minutes; measured one after another, the floor's raw and the baseline's raw could land in
// different weather): the service, the bare server, then raw back to back, raw with the service's
// idle pause and raw with the bare server's round trip as its pause
const ROUNDS = 4;
const per = Math.max(1, Math.round(N / ROUNDS));
const s = await startServer(w.m, PORT, env);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const bareAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const lone = { healthz: [] as number[], e2e: [] as number[], compute: [] as number[], queue: [] as number[], encode: [] as number[] };
const floor = { healthz: [] as number[], post: [] as number[] };
const raws = { back: [] as number[], gap: [] as number[], bare: [] as number[] };
const split = { sessions: 2, threads: 1 };
const splitOk = w.raw.rowsPerStep === 2 && w.cores > 1;
/** `count` GET /healthz + POST pairs on one connection, as one client sends them */
async function pairs(a: http.Agent, port: number, count: number) {
  const out = [];
  for (let i = 0; i < count; i++) out.push({ h: await request(a, 'GET', '/healthz', undefined, port), g: await request(a, 'POST', '/v1/generate/image', w.body(i), port) });
  return out;
}
// the floor: the same requests, one client, to a server that does nothing; it answers as many
// bytes as the service does, here and at saturation (B), and goes when this process exits
let imageBytes: number;
let bare: ChildProcess | null = null;
process.on('exit', () => bare?.kill());
try {
  const warm = await pairs(agent, PORT, 50);
  imageBytes = warm[warm.length - 1].g.bytes;
  bare = await bareServer(imageBytes);
  await pairs(bareAgent, BARE_PORT, 50);
  for (let r = 0; r < ROUNDS; r++) {
    for (const { h, g } of await pairs(agent, PORT, per)) {
      if (g.status !== 200) throw new Error(`generate answered ${g.status}`);
      lone.healthz.push(h.ms);
      lone.e2e.push(g.ms);
      lone.compute.push(g.timing.compute);
      lone.queue.push(g.timing.queue);
      lone.encode.push(g.timing.encode);
    }
    for (const { h, g } of await pairs(bareAgent, BARE_PORT, per)) {
      floor.healthz.push(h.ms);
      floor.post.push(g.ms);
    }
    if (!splitOk) continue;
    // what the sessions idle between one client's requests: everything but the compute
    const gap = Math.max(0, median(lone.e2e) - median(lone.compute));
    raws.back.push(...(await rawLatency(w.raw, split, per)));
    raws.gap.push(...(await rawLatency(w.raw, split, per, gap)));
    raws.bare.push(...(await rawLatency(w.raw, split, per, median(floor.post))));
  }
} finally {
  agent.destroy();
  bareAgent.destroy();
  await s.stop();
}
const gapMs = Math.max(0, median(lone.e2e) - median(lone.compute));
const rawBack = splitOk ? median(raws.back) : NaN;
const rawGap = splitOk ? median(raws.gap) : NaN;
const bareMs = median(floor.post);
const rawBareGap = splitOk ? median(raws.bare) : NaN;

console.log(`\nA. one client, ${per * ROUNDS} requests on one keep-alive connection, in ${ROUNDS} rounds alternating with the floor and raw (p50)`);
console.log(`  HTTP round trip floor, GET /healthz          ${ms(median(lone.healthz))}`);
console.log(`  POST /v1/generate/image, end to end          ${ms(median(lone.e2e))}`);
console.log(`    server: queue ${ms(median(lone.queue))}, compute ${ms(median(lone.compute))}, encode ${ms(median(lone.encode))}`);
console.log(`    outside compute (HTTP, validation, encode, client): ${ms(gapMs)}`);
if (Number.isFinite(rawBack)) {
  console.log(`  raw onnxruntime, 2 sessions × 1 thread side by side:`);
  console.log(`    images back to back (the ratio's baseline)   ${ms(rawBack)}`);
  console.log(`    with a ${ms(gapMs)} idle pause before each    ${ms(rawGap)}  (${((rawGap / rawBack - 1) * 100).toFixed(1)} % slower)`);
  console.log(
    `  service compute ÷ raw back to back ${(median(lone.compute) / rawBack).toFixed(3)}, ÷ raw with the pause ${(median(lone.compute) / rawGap).toFixed(3)}`,
  );
  console.log(
    `  end to end ÷ raw back to back ${(median(lone.e2e) / rawBack).toFixed(3)} (the ratio npm run bench reports, here with node:http as the client)`,
  );
  console.log(`  the floor: a bare node:http server (no framework, no work, a ${imageBytes}-byte answer), same client`);
  console.log(`    GET /healthz ${ms(median(floor.healthz))}, POST ${ms(bareMs)}`);
  console.log(`    raw images with a ${ms(bareMs)} pause before each   ${ms(rawBareGap)}`);
  console.log(
    `    bare round trip + raw with that pause ${ms(bareMs + rawBareGap)} ÷ raw back to back ${((bareMs + rawBareGap) / rawBack).toFixed(3)}: the best one-client ratio an HTTP service can reach on this machine`,
  );
}

// B. saturation, CPU by thread
const s2 = await startServer(w.m, PORT, env);
let cpu;
try {
  await drive(s2, w.m.graph.model, CLIENTS, 5, w.body, 'image/png', 0.5); // warm-up at load
  cpu = await cpuShares(s2.child.pid!, () => drive(s2, w.m.graph.model, CLIENTS, SECONDS, w.body, 'image/png', 0));
} finally {
  await s2.stop();
}
const sat = cpu.result;
const rowsPerCall = sat.avgRows;
const batch = Math.max(1, Math.round(rowsPerCall / w.raw.rowsPerStep));
const raw = (await rawThroughput(w.raw, w.serviceLayout, [batch], 3))[String(batch)];
const ceiling = 1 - cpu.main - cpu.client;

// the floor at saturation: the bare server at the service's request rate, same load generator
const load = (seconds: number) =>
  autocannon({
    url: `http://127.0.0.1:${BARE_PORT}`,
    connections: CLIENTS,
    overallRate: Math.max(1, Math.round(sat.imagesPerS)),
    duration: seconds,
    requests: [{ method: 'POST', path: '/v1/generate/image', headers: { 'content-type': 'application/json', accept: 'image/png' }, body: w.body(0) }],
  });
await load(2);
const bareCpu = await cpuShares(bare!.pid!, () => load(Math.max(3, SECONDS / 2)));
console.log(`\nB. saturation, ${CLIENTS} clients for ${SECONDS} s: ${sat.imagesPerS.toFixed(1)} images/s at ${rowsPerCall.toFixed(1)} rows per call`);
console.log(`  share of the machine (${w.cores} cores × ${cpu.wall.toFixed(1)} s):`);
console.log(`    server main thread (HTTP, validation, scheduler, PNG)   ${(cpu.main * 100).toFixed(1)} %`);
console.log(`    server's other threads (inference sessions, helpers)    ${(cpu.rest * 100).toFixed(1)} %`);
console.log(`    load generator (autocannon, this process)               ${(cpu.client * 100).toFixed(1)} %`);
console.log(`  raw onnxruntime at batch ${batch} on the service's layout: ${raw.toFixed(1)} images/s`);
console.log(
  `  service ÷ raw ${(sat.imagesPerS / raw).toFixed(3)}; the cores left to inference by the main thread and the load generator: ${ceiling.toFixed(3)}`,
);
console.log(`  the floor: the bare node:http server at ${bareCpu.result.requests.average.toFixed(0)} requests/s, same load generator`);
console.log(`    its main thread ${(bareCpu.main * 100).toFixed(1)} %, the load generator ${(bareCpu.client * 100).toFixed(1)} % → the cores left: ${(1 - bareCpu.main - bareCpu.client).toFixed(3)} (no Node HTTP front end passes this here)`);
process.exit(0);
