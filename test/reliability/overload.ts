/**
 * Overload (issue 6, item 2): measure the service's capacity closed-loop, then offer `factor`×
 * that rate open-loop (arrivals do not wait for answers, as real traffic does not) for a while.
 * The service must stay up, refuse the excess at once with 503 + Retry-After, finish what it
 * accepted within the deadline, keep queue depth and memory bounded, and afterwards answer with
 * its normal latency again.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { mb, percentile, post, sleep, waitProbe, type JsonOutcome, type Target } from './harness.js';

export interface OverloadOptions {
  model: string;
  imagesPerRequest?: number;
  steps?: number;
  /** closed-loop capacity measurement */
  capacityS: number;
  capacityConcurrency?: number;
  /** open-loop burst */
  durationS: number;
  factor: number;
  queueLimit: number;
  deadlineMs: number;
  /** client connections (keep-alive pool); arrivals beyond them wait in the client, and that wait counts in their latency */
  connections?: number;
  /** client-side cap on requests outstanding at once (beyond it arrivals are counted, not sent) */
  maxOutstanding?: number;
}

export interface OverloadResult {
  capacityRps: number;
  targetRps: number;
  offeredRps: number;
  sent: number;
  notSent: number;
  ok: number;
  rejected503: number;
  rejectedWithRetryAfter: number;
  deadline504: number;
  otherStatus: Record<string, number>;
  clientErrors: number;
  clientErrorKinds: Record<string, number>;
  p50OkMs: number;
  p99OkMs: number;
  maxOkMs: number;
  p50RejectMs: number;
  p99RejectMs: number;
  /** server-side handling time of the 503s (request in → response out) */
  serverP50RejectMs: number;
  serverP99RejectMs: number;
  /** the server's event-loop delay p99 during the burst */
  loopDelayP99Ms: number;
  maxQueueDepth: number;
  baselineRssMB: number;
  maxRssMB: number;
  rssGrowthMB: number;
  idleP50Ms: number;
  afterP50Ms: number;
  drainedMs: number;
  leakedLanes: number;
  crashes: number;
}

async function idleLatency(t: Target, model: string, n: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await post(t.port, '/v1/generate', { model, class: i % 2, seed: 1000 + i });
    if (r.status === 200) ms.push(r.ms);
  }
  return percentile(ms, 50);
}

export async function runOverload(t: Target, o: OverloadOptions): Promise<OverloadResult> {
  // a bounded keep-alive pool, as a load balancer keeps to its upstream: an unbounded one turns
  // overload into a SYN flood that overflows the listen backlog (the kernel then drops or resets
  // connections before the service sees them, which measures the kernel, not the service)
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections ?? 512 });
  // a compute-bound request shape (as a real model's is), so that 4× capacity is about the
  // batcher and admission, not about HTTP parsing alone
  const body = (i: number) => ({ model: o.model, class: i % 4, seed: i, num_images: o.imagesPerRequest ?? 4, steps: o.steps ?? 4 });
  try {
    await idleLatency(t, o.model, 10); // warm-up
    const idleP50 = await idleLatency(t, o.model, 30);
    const base = await t.probe({ gc: true });

    // capacity: closed loop, a fixed number of clients each sending as soon as answered
    let done = 0;
    const capEnd = performance.now() + o.capacityS * 1000;
    const tCap = performance.now();
    await Promise.all(
      Array.from({ length: o.capacityConcurrency ?? 16 }, async (_, c) => {
        for (let i = c; performance.now() < capEnd; i += 100) {
          const r = await post(t.port, '/v1/generate', body(i), { agent });
          if (r.status === 200) done++;
        }
      }),
    );
    const capacityRps = done / ((performance.now() - tCap) / 1000);
    await waitProbe(t, (p) => p.queueDepth === 0, 10_000);

    // open loop at factor × capacity
    const targetRps = capacityRps * o.factor;
    const maxOutstanding = o.maxOutstanding ?? 4096;
    const results: JsonOutcome[] = [];
    const inflight = new Set<Promise<void>>();
    let sent = 0;
    let notSent = 0;
    let maxQueueDepth = 0;
    let maxRss = base.rss;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const p = await t.probe().catch(() => null);
        if (p) {
          maxQueueDepth = Math.max(maxQueueDepth, p.queueDepth);
          maxRss = Math.max(maxRss, p.rss);
        }
        await sleep(100);
      }
    })();
    await t.probe({ reset: true });
    const t0 = performance.now();
    const end = t0 + o.durationS * 1000;
    let arrivals = 0;
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - t0) / 1000) * targetRps);
      for (; arrivals < due; arrivals++) {
        if (inflight.size >= maxOutstanding) {
          notSent++;
          continue;
        }
        sent++;
        const p: Promise<void> = post(t.port, '/v1/generate', body(arrivals), { agent, timeoutMs: o.deadlineMs + 15_000 }).then((r) => {
          results.push(r);
          inflight.delete(p);
        });
        inflight.add(p);
      }
      await sleep(2);
    }
    const offeredRps = arrivals / ((performance.now() - t0) / 1000);
    const tEnd = performance.now();
    const during = await t.probe();
    await Promise.all(inflight);
    const drained = await waitProbe(t, (p) => p.queueDepth === 0 && p.lanes === 0 && p.inFlightCalls === 0, 30_000);
    const drainedMs = performance.now() - tEnd;
    sampling = false;
    await sampler;
    agent.destroy();
    await sleep(200);
    const afterP50 = await idleLatency(t, o.model, 30);

    const ok = results.filter((r) => r.status === 200);
    const rej = results.filter((r) => r.status === 503);
    const otherStatus: Record<string, number> = {};
    for (const r of results) if (r.status && r.status !== 200 && r.status !== 503 && r.status !== 504) otherStatus[r.status] = (otherStatus[r.status] ?? 0) + 1;
    return {
      capacityRps: Math.round(capacityRps),
      targetRps: Math.round(targetRps),
      offeredRps: Math.round(offeredRps),
      sent,
      notSent,
      ok: ok.length,
      rejected503: rej.length,
      rejectedWithRetryAfter: rej.filter((r) => Number(r.headers['retry-after']) >= 1).length,
      deadline504: results.filter((r) => r.status === 504).length,
      otherStatus,
      clientErrors: results.filter((r) => r.status === 0).length,
      clientErrorKinds: results.filter((r) => r.status === 0).reduce<Record<string, number>>((a, r) => ((a[r.error ?? '?'] = (a[r.error ?? '?'] ?? 0) + 1), a), {}),
      p50OkMs: Math.round(percentile(ok.map((r) => r.ms), 50)),
      p99OkMs: Math.round(percentile(ok.map((r) => r.ms), 99)),
      maxOkMs: Math.round(Math.max(0, ...ok.map((r) => r.ms))),
      p50RejectMs: Math.round(percentile(rej.map((r) => r.ms), 50) * 10) / 10,
      p99RejectMs: Math.round(percentile(rej.map((r) => r.ms), 99) * 10) / 10,
      serverP50RejectMs: Math.round(during.rejectP50Ms * 100) / 100,
      serverP99RejectMs: Math.round(during.rejectP99Ms * 100) / 100,
      loopDelayP99Ms: Math.round(during.loopDelayP99Ms * 10) / 10,
      maxQueueDepth,
      baselineRssMB: mb(base.rss),
      maxRssMB: mb(maxRss),
      rssGrowthMB: mb(maxRss - base.rss),
      idleP50Ms: Math.round(idleP50 * 10) / 10,
      afterP50Ms: Math.round(afterP50 * 10) / 10,
      drainedMs: Math.round(drainedMs),
      leakedLanes: drained.probe.lanes + drained.probe.queueDepth,
      crashes: t.crashes(),
    };
  } finally {
    agent.destroy();
  }
}
