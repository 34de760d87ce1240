/**
 * `npm run test:scale`: a rolling restart behind a real load balancer. Three replicas of
 * localhost/jfdl-serve:cpu (podman containers) behind haproxy running deploy/haproxy/haproxy.cfg
 * unchanged; a steady load from a client on 127.0.0.1; each replica in turn gets `podman stop`
 * (SIGTERM), drains, exits, and is replaced by a new container that haproxy takes in once its
 * /readyz passes. Every request sent must end in a 200 PNG at the client — a 503 or a refused
 * connection that haproxy retried on another replica counts only through its final answer.
 *
 * Measured from the outside, per replica: SIGTERM → /readyz 503, /readyz 503 → listener closed
 * (connection refused), and when haproxy took it out. Prints the figures and writes them to
 * test-output/scale.json. Needs podman and haproxy, as root (.ci/run installs them).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { parse } from 'yaml';
import { serverStates, stats, retriesFromLog } from '../../scripts/container/haproxy.js';
import { startDeployment, type Deployment } from '../../scripts/container/deployment.js';
import { buildImage, removeSuite, unavailable } from '../../scripts/container/podman.js';
import { request } from './http.js';
import { steadyLoad, type LoadOutcome } from './steady-load.js';

const SUITE = 'scale';
const REPLICAS = 3;
// the Kubernetes manifest's shutdown timing (deploy/cpu/deployment.yaml): the drain deadline,
// and the grace period before SIGKILL (podman stop --time)
const manifest = parse(readFileSync('deploy/cpu/deployment.yaml', 'utf8'));
const pod = manifest.spec.template.spec;
const DRAIN_MS = Number(pod.containers[0].env.find((e: { name: string }) => e.name === 'SHUTDOWN_DRAIN_MS').value);
const GRACE_S = Number(pod.terminationGracePeriodSeconds);
const RATE = 20; // requests/s: a steady load well under what one replica serves on one core
const STEADY_MS = 3000;

const skip = unavailable() ?? (hasHaproxy() ? null : 'haproxy is not installed (Debian: apt-get install haproxy)');
if (skip && process.env.CI) throw new Error(`test:scale cannot run: ${skip}`);

function hasHaproxy(): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(`${d}/haproxy`));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Watches one replica go, from the outside: /readyz over fresh HTTP connections every 10 ms
 * until it answers 503, then bare TCP connects (no request: the service's quiet-period logic
 * counts request arrivals, and this must not hold it open) until the connection is refused.
 * Times are performance.now() (ms).
 */
async function watchShutdown(port: number, timeoutMs: number): Promise<{ flipAt: number; closedAt: number }> {
  const end = performance.now() + timeoutMs;
  let flipAt = NaN;
  while (performance.now() < end) {
    const r = await request(port, '/readyz', { timeoutMs: 2000 });
    if (r.status === 503) {
      flipAt = performance.now();
      break;
    }
    if (r.error === 'ECONNREFUSED') throw new Error('listener closed before /readyz answered 503');
    await sleep(10);
  }
  while (performance.now() < end) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
    });
    if (refused) return { flipAt, closedAt: performance.now() };
    await sleep(10);
  }
  throw new Error(`replica on :${port} still listening after ${timeoutMs} ms (readiness 503 at ${flipAt})`);
}

/** When haproxy's state for a server first reads DOWN (or MAINT), polled every 20 ms. */
async function watchDown(statsPort: number, server: string, timeoutMs: number): Promise<number> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const s = (await serverStates(statsPort).catch(() => ({}) as Record<string, string>))[server] ?? '';
    if (/^(DOWN|MAINT|NOLB)/.test(s)) return performance.now();
    await sleep(20);
  }
  return NaN;
}

describe('rolling restart of 3 replicas behind haproxy under steady load', { skip: skip ?? false, timeout: 20 * 60_000 }, () => {
  let d: Deployment | null = null;
  const figures: Record<string, unknown> = {};

  before(async () => {
    await removeSuite(SUITE);
    const t0 = Date.now();
    const b = await buildImage('cpu'); // the layer cache makes this quick after test:container
    figures.build_s = b.buildMs / 1000;
    d = await startDeployment({ replicas: REPLICAS, suite: SUITE, env: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) } });
    figures.up_s = (Date.now() - t0) / 1000;
  });

  after(async () => {
    if (d && process.env.SCALE_KEEP_LOG) writeFileSync(process.env.SCALE_KEEP_LOG, d.haproxy.log());
    await d?.down();
    await removeSuite(SUITE);
    mkdirSync('test-output', { recursive: true });
    writeFileSync('test-output/scale.json', JSON.stringify({ date: new Date().toISOString(), ...figures }, null, 2) + '\n');
  });

  test('every request sent gets a 200; readiness turns 503 before the listener closes; each replica exits 0', async (t) => {
    const dep = d!;
    const load = steadyLoad(dep.port, { ratePerS: RATE, maxSeconds: 600, maxInFlight: 64, model: 'digits16', classes: 10 });
    const rounds: Array<Record<string, number | string>> = [];
    let out: LoadOutcome;
    try {
      await sleep(STEADY_MS);
      for (const r of dep.replicas) {
        const old = r.name;
        const t0 = performance.now();
        const watching = watchShutdown(r.port, 60_000);
        const down = watchDown(dep.statsPort, r.server, 30_000);
        const stop = await dep.stop(r, GRACE_S);
        const w = await watching;
        const downAt = await down;
        assert.equal(stop.exitCode, 0, `${old} exit code (137: killed at the grace period)\n${await dep.logs(r).catch(() => '')}`);
        const start = await dep.start(r);
        rounds.push({
          replica: r.server,
          container: old,
          sigterm_to_readyz_503_ms: Math.round(w.flipAt - t0),
          readyz_503_to_listener_closed_ms: Math.round(w.closedAt - w.flipAt),
          readyz_503_to_haproxy_down_ms: Math.round(downAt - w.flipAt),
          podman_stop_ms: stop.ms,
          replacement_in_haproxy_ms: start.readyMs,
        });
        assert.ok(w.flipAt < w.closedAt, 'readiness 503 before the listener closed');
      }
      await sleep(STEADY_MS);
    } finally {
      figures.rounds = rounds;
      // also on failure: the load stops and every request sent gets its answer (bounded)
      out = await load.stop();
    }
    const rows = await stats(dep.statsPort);
    const backend = rows.find((x) => x.pxname === 'jfdl' && x.svname === 'BACKEND')!;
    const servers = rows.filter((x) => x.pxname === 'jfdl' && /^r\d$/.test(x.svname));
    // haproxy writes a request's log line when it ends; give the last lines a moment to arrive
    for (let i = 0; i < 100 && retriesFromLog(dep.haproxy.log()).requests < out.sent; i++) await sleep(20);
    const log = retriesFromLog(dep.haproxy.log());
    figures.load = { rate_per_s: RATE, ...out };
    figures.haproxy = {
      requests_logged: log.requests,
      requests_retried: log.retried,
      requests_redispatched: log.redispatched,
      retries: log.retries,
      backend_retries_wretr: backend.wretr,
      backend_redispatches_wredis: backend.wredis,
      server_5xx_answers: servers.reduce((s, x) => s + x.hrsp_5xx, 0),
      server_connection_errors: servers.reduce((s, x) => s + x.econ, 0),
      server_response_errors: servers.reduce((s, x) => s + x.eresp, 0),
    };
    for (const r of rounds) t.diagnostic(JSON.stringify(r));
    t.diagnostic(`requests sent ${out.sent}, 200 ${out.ok}, failed ${JSON.stringify(out.failed)}; latency p50 ${out.latencyMs.p50} ms, p99 ${out.latencyMs.p99} ms, max ${out.latencyMs.max} ms`);
    t.diagnostic(`haproxy: ${log.retried} requests retried (${log.redispatched} redispatched, ${log.retries} retries in all); replicas answered 5xx ${JSON.stringify(figures.haproxy)}`);

    assert.ok(out.sent >= RATE * 10, `a real load: ${out.sent} requests`);
    assert.deepEqual(out.failed, {}, 'no request failed at the client');
    assert.equal(out.ok, out.sent);
    assert.equal(out.paused, 0, 'the load stayed steady (never held back by maxInFlight)');
    assert.equal(log.requests, out.sent, 'haproxy logged every request once');
    // the replacements are in and serving
    assert.deepEqual(Object.values(await serverStates(dep.statsPort)), Array(REPLICAS).fill('UP'));
    for (const r of dep.replicas) assert.equal((await request(r.port, '/readyz')).status, 200);
  });
});
