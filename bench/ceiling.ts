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
 *     of the server's inference sessions (its busiest threads), of its main thread (HTTP,
 *     validation, scheduler, PNG), of its other threads (V8's helpers) and of the load generator
 *     (autocannon, in this process), and the machine's idle time, from /proc (Linux). Raw
 *     onnxruntime has every core for inference; the service's sessions have what the rest leave
 *     — printed beside the measured ratio to raw onnxruntime at the service's batch, with the
 *     images the sessions make per second of their own CPU against raw's per second of its
 *     threads' CPU. Then the floor again: the bare server under the same load generator at the
 *     service's request rate, whose main thread and client leave the ceiling no Node HTTP front
 *     end can pass here.
 *
 *  C. The thread hand-off: a worker (bench/nap-worker.mjs) that sleeps as long as a lone image's
 *     network call takes and then answers; the round trip minus the sleep is the price of waking
 *     an idle thread and being woken back, which the service pays on every step of a lone image
 *     (main thread → sessions → main thread) and raw onnxruntime's side-by-side sessions replace
 *     with a one-way wake at the barrier where they meet.
 *
 * Bounded: BENCH_CEILING_REQUESTS lone requests (default 400), BENCH_CEILING_SECONDS of load
 * (default 10) after 5 s of warm-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
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

/** Idle and total jiffies of the whole machine (/proc/stat's first line, proc(5)). */
function machineIdle(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((a, v) => a + v, 0) };
}

/**
 * Run `load` and return its result with the CPU it cost, as shares of the machine: the main
 * thread of process `pid`, its `busiest` busiest other threads (the inference sessions: each
 * single-threaded session is one thread), the rest of its threads (V8's garbage collector and
 * compiler helpers, idle sessions of other models), this process (the load generator), and the
 * machine's idle time.
 */
async function cpuShares<T>(pid: number, busiest: number, load: () => PromiseLike<T>) {
  const before = threadCpu(pid);
  const idle0 = machineIdle();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await load();
  const wall = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  const idle1 = machineIdle();
  let main = 0;
  const others: number[] = [];
  for (const [tid, t] of threadCpu(pid)) {
    const d = t - (before.get(tid) ?? 0);
    if (tid === pid) main += d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  const sum = (xs: number[]) => xs.reduce((a, v) => a + v, 0);
  const machine = w.cores * wall;
  return {
    result,
    main: main / machine,
    inference: sum(others.slice(0, busiest)) / machine,
    helpers: sum(others.slice(busiest)) / machine,
    client: (own.user + own.system) / 1e6 / machine,
    idle: (idle1.idle - idle0.idle) / Math.max(1, idle1.total - idle0.total),
    wall,
  };
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
  cpu = await cpuShares(s2.child.pid!, w.serviceLayout.sessions, () => drive(s2, w.m.graph.model, CLIENTS, SECONDS, w.body, 'image/png', 0));
} finally {
  await s2.stop();
}
const sat = cpu.result;
const rowsPerCall = sat.avgRows;
const batch = Math.max(1, Math.round(rowsPerCall / w.raw.rowsPerStep));
// raw's CPU over its run (its sessions' threads: this process is otherwise idle meanwhile)
const rawCpu0 = process.cpuUsage();
const rawT0 = performance.now();
const raw = (await rawThroughput(w.raw, w.serviceLayout, [batch], 3))[String(batch)];
const rawCpu = process.cpuUsage(rawCpu0);
const rawShare = (rawCpu.user + rawCpu.system) / 1e6 / (w.cores * ((performance.now() - rawT0) / 1000));
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
const bareCpu = await cpuShares(bare!.pid!, 0, () => load(Math.max(3, SECONDS / 2)));
console.log(`\nB. saturation, ${CLIENTS} clients for ${SECONDS} s: ${sat.imagesPerS.toFixed(1)} images/s at ${rowsPerCall.toFixed(1)} rows per call`);
const pc = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
console.log(`  share of the machine (${w.cores} cores × ${cpu.wall.toFixed(1)} s):`);
console.log(`    inference sessions (the server's ${w.serviceLayout.sessions} busiest threads)      ${pc(cpu.inference)}`);
console.log(`    server main thread (HTTP, validation, scheduler, PNG)   ${pc(cpu.main)}`);
console.log(`    server's other threads (V8 GC and compiler, idle models)${pc(cpu.helpers)}`);
console.log(`    load generator (autocannon, this process)               ${pc(cpu.client)}`);
console.log(`    idle                                                    ${pc(cpu.idle)}`);
console.log(`    the rest (kernel work charged elsewhere, other processes)${pc(1 - cpu.inference - cpu.main - cpu.helpers - cpu.client - cpu.idle)}`);
console.log(`  raw onnxruntime at batch ${batch} on the service's layout: ${raw.toFixed(1)} images/s`);
console.log(
  `  service ÷ raw ${(sat.imagesPerS / raw).toFixed(3)}; the cores left to inference by the main thread and the load generator: ${ceiling.toFixed(3)}`,
);
// per second of an inference thread's CPU the service's sessions do as much as raw's when this
// is ≈ 1; the ratio above is then the share of the cores its sessions get against raw's
const perCpu = { service: sat.imagesPerS / (cpu.inference * w.cores), raw: raw / (rawShare * w.cores) };
console.log(`  raw onnxruntime's threads used ${pc(rawShare).trim()} of the machine (session load and warm-up calls included)`);
console.log(
  `  images per second of inference CPU: service ${perCpu.service.toFixed(1)}, raw ${perCpu.raw.toFixed(1)} → ${(perCpu.service / perCpu.raw).toFixed(3)} (≈ 1: the service's sessions lose nothing per CPU second; the gap is the cores they do not get)`,
);
console.log(`  the floor: the bare node:http server at ${bareCpu.result.requests.average.toFixed(0)} requests/s, same load generator`);
console.log(`    its main thread ${(bareCpu.main * 100).toFixed(1)} %, the load generator ${(bareCpu.client * 100).toFixed(1)} % → the cores left: ${(1 - bareCpu.main - bareCpu.client).toFixed(3)} (no Node HTTP front end passes this here)`);

// C. the thread hand-off, at the length of a lone image's call (half a 2-step image) and at 0
const napper = new Worker(new URL('./nap-worker.mjs', import.meta.url));
const handOff = async (napMs: number, count: number) => {
  const extra: number[] = [];
  for (let i = 0; i < count + 20; i++) {
    const t = performance.now();
    await new Promise((r) => {
      napper.once('message', r);
      napper.postMessage(napMs);
    });
    if (i >= 20) extra.push(performance.now() - t - napMs);
  }
  return median(extra);
};
const callMs = Number.isFinite(rawBack) ? Math.max(1, Math.round(rawBack / 2)) : 2;
const busy = await handOff(0, 300);
const idle = await handOff(callMs, 200);
await napper.terminate();
console.log(`\nC. thread hand-off main → worker → main (p50 of the round trip beyond the worker's sleep)`);
console.log(`  worker answering at once: ${(busy * 1000).toFixed(0)} µs; after sleeping ${callMs} ms (a lone image's call): ${(idle * 1000).toFixed(0)} µs`);
console.log(`  a lone guided ${w.sigmas.length}-step image makes ${w.sigmas.length} such round trips (one per step; its rows run side by side): ≈ ${((idle * w.sigmas.length) / rawBack).toFixed(3)} × raw back to back`);
process.exit(0);
