/**
 * The service under attack, as its own process: the real app (src/app.ts) configured from the
 * environment like src/server.ts, listening on 127.0.0.1 on a free port. The reliability
 * harness (./harness.ts) spawns it with an IPC channel so that a crash is a process exit it can
 * count, memory is this process's alone (not the load generator's), and the scheduler's
 * internals (queue depth, lanes, calls in flight) can be read without an HTTP route for them.
 *
 * Deliberately no `uncaughtException` / `unhandledRejection` handler: either one kills the
 * process (Node's default), which the harness reports as a crash.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

export interface Probe {
  /** images admitted and not finished or dropped, all models */
  queueDepth: number;
  /** lanes the schedulers hold (queued, in a call, or dropped awaiting their call) */
  lanes: number;
  /** network calls queued or running on engine workers */
  inFlightCalls: number;
  /** scheduler counters summed over models */
  aborted: number;
  rejected: number;
  deadlines: number;
  images: number;
  /** engine worker restarts, summed */
  restarts: number;
  rss: number;
  heapUsed: number;
  external: number;
  /** responses the server sent (or tried to send) by status code */
  statuses: Record<string, number>;
  /** 500 internal_error responses: an exception nobody caught on purpose */
  internalErrors: number;
  /** requests whose client closed the connection before the response was complete */
  requestAborts: number;
  /** event-loop delay p99 since the last reset, ms */
  loopDelayP99Ms: number;
  /** server-side handling time of 503 answers since the last reset, ms */
  rejectP50Ms: number;
  rejectP99Ms: number;
  models: Record<string, { status: string; error?: string; queueDepth: number; lanes: number; alive: boolean; failure?: string }>;
}

export type Command =
  | { id: number; cmd: 'probe'; gc?: boolean; reset?: boolean }
  | { id: number; cmd: 'kill-worker'; model: string; index: number }
  | { id: number; cmd: 'close' };

const config = loadConfig();
const app = await buildApp(config);
const statuses: Record<string, number> = {};
let internalErrors = 0;
let requestAborts = 0;
// server-side time (request received → response sent) of 503 answers since the last reset
let rejectMs: number[] = [];
app.addHook('onResponse', async (_req, reply) => {
  statuses[reply.statusCode] = (statuses[reply.statusCode] ?? 0) + 1;
  if (reply.statusCode === 503 && rejectMs.length < 200_000) rejectMs.push(reply.elapsedTime);
});
app.addHook('onSend', async (_req, reply, payload) => {
  if (reply.statusCode === 500 && typeof payload === 'string' && payload.includes('"internal_error"')) internalErrors++;
  return payload;
});
app.addHook('onRequestAbort', (_req, done) => {
  requestAborts++;
  done();
});
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

await app.listen({ port: 0, host: '127.0.0.1' });
await app.registry.loadAll();

function pct(v: number[], p: number): number {
  if (!v.length) return 0;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function probe(): Probe {
  const p: Probe = {
    queueDepth: 0,
    lanes: 0,
    inFlightCalls: 0,
    aborted: 0,
    rejected: 0,
    deadlines: 0,
    images: 0,
    restarts: 0,
    rss: 0,
    heapUsed: 0,
    external: 0,
    statuses: { ...statuses },
    internalErrors,
    requestAborts,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    rejectP50Ms: pct(rejectMs, 50),
    rejectP99Ms: pct(rejectMs, 99),
    models: {},
  };
  for (const e of app.registry.entries.values()) {
    const s = e.scheduler;
    p.models[e.name] = {
      status: e.status,
      ...(e.error ? { error: e.error } : {}),
      queueDepth: s?.queueDepth ?? 0,
      lanes: s?.laneCount ?? 0,
      alive: e.engine?.alive ?? false,
      ...(e.engine?.failure ? { failure: e.engine.failure.message } : {}),
    };
    if (!s) continue;
    p.queueDepth += s.queueDepth;
    p.lanes += s.laneCount;
    p.inFlightCalls += s.inFlightCalls;
    p.aborted += s.stats.aborted;
    p.rejected += s.stats.rejected;
    p.deadlines += s.stats.deadlines;
    p.images += s.stats.images;
    p.restarts += e.engine?.restarts ?? 0;
  }
  const m = process.memoryUsage();
  p.rss = m.rss;
  p.heapUsed = m.heapUsed;
  p.external = m.external;
  return p;
}

process.on('message', async (msg: Command) => {
  try {
    if (msg.cmd === 'probe') {
      if (msg.gc && global.gc) {
        global.gc();
        global.gc();
      }
      const p = probe();
      if (msg.reset) {
        loop.reset();
        rejectMs = [];
      }
      process.send!({ id: msg.id, ok: true, value: p });
    } else if (msg.cmd === 'kill-worker') {
      const e = app.registry.get(msg.model);
      if (!e?.engine) throw new Error(`no engine for ${msg.model}`);
      await e.engine.killWorker(msg.index);
      process.send!({ id: msg.id, ok: true, value: null });
    } else if (msg.cmd === 'close') {
      await app.close();
      process.send!({ id: msg.id, ok: true, value: null }, () => process.exit(0));
    }
  } catch (e) {
    process.send!({ id: msg.id, ok: false, error: (e as Error).message });
  }
});
// the harness going away (even killed) must not leave the server behind
process.on('disconnect', () => process.exit(0));

process.send!({ type: 'listening', port: (app.server.address() as AddressInfo).port });
