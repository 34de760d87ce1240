/**
 * Soak (issue 6, item 5; a benchmark, not CI): mixed traffic for a while — valid requests of
 * every shape, raw-image answers, hostile requests, model listings and probes, clients that
 * vanish — sampling the service's RSS and live heap (after GC) over time, to show any growth.
 */
import fc from 'fast-check';
import { mb, percentile, post, get, rawExchange, sleep, waitProbe, type Target } from './harness.js';
import { hostileRequests, type TargetModels } from './hostile.js';

export interface SoakSample {
  s: number;
  rssMB: number;
  heapMB: number;
  requests: number;
}

export interface SoakResult {
  durationS: number;
  requests: number;
  statuses: Record<string, number>;
  fiveXX: number;
  clientErrors: number;
  aborted: number;
  p50Ms: number;
  p99Ms: number;
  samples: SoakSample[];
  /** RSS / live heap: first sample after warm-up, last sample, max */
  rssStartMB: number;
  rssEndMB: number;
  rssMaxMB: number;
  heapStartMB: number;
  heapEndMB: number;
  /** least-squares slope over the samples after warm-up, MB per minute */
  rssSlopeMBPerMin: number;
  heapSlopeMBPerMin: number;
  leakedLanes: number;
  crashes: number;
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}

export async function runSoak(t: Target, models: TargetModels, o: { durationS: number; sampleEveryS?: number; concurrency?: number; seed?: number }): Promise<SoakResult> {
  const every = o.sampleEveryS ?? Math.max(2, Math.min(10, o.durationS / 12));
  const hostile = fc.sample(hostileRequests(models), { numRuns: 2000, seed: o.seed ?? 99 });
  let h = 0;
  let seq = 0;
  const statuses: Record<string, number> = {};
  const ms: number[] = [];
  let clientErrors = 0;
  let aborted = 0;
  const count = (s: number) => (statuses[s] = (statuses[s] ?? 0) + 1);
  const one = async () => {
    const i = seq++;
    const roll = (i * 2654435761) % 100;
    const spec = {
      model: i % 3 ? models.guided : models.plain,
      class: i % models.classes.length,
      ...(i % 3 ? { guidance: [0, 1, 1.5, 2][i % 4] } : {}),
      steps: 1 + (i % models.maxSteps),
      sampler: i % 2 ? 'ode' : 'consistency',
      seed: i,
      num_images: 1 + (i % 4),
      format: ['png', 'webp', 'jpeg'][i % 3],
      scale: [1, 2, 4][i % 3],
    };
    if (roll < 60) {
      const r = await post(t.port, '/v1/generate', spec);
      if (r.status) {
        count(r.status);
        ms.push(r.ms);
      } else clientErrors++;
    } else if (roll < 70) {
      const { num_images: _n, ...one } = spec;
      const r = await post(t.port, '/v1/generate/image', one, { headers: { accept: 'image/png' } });
      if (r.status) count(r.status);
      else clientErrors++;
    } else if (roll < 85) {
      const c = hostile[h++ % hostile.length];
      const r = await rawExchange(t.port, c.bytes, { end: c.halfClose, timeoutMs: 20_000 });
      if ('response' in r) count(r.response.status);
      else if (!c.allowNoResponse) clientErrors++;
    } else if (roll < 93) {
      const r = await get(t.port, ['/v1/models', '/healthz', '/readyz', '/metrics', `/v1/models/${models.guided}`][i % 5]);
      if (r.status) count(r.status);
      else clientErrors++;
    } else {
      const r = await post(t.port, '/v1/generate', spec, { abortAfterMs: (i % 50) + 1 });
      if (r.error === 'aborted') aborted++;
      else if (r.status) count(r.status);
    }
  };

  const t0 = Date.now();
  const end = t0 + o.durationS * 1000;
  const samples: SoakSample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const p = await t.probe({ gc: true }).catch(() => null);
      if (p) samples.push({ s: Math.round((Date.now() - t0) / 100) / 10, rssMB: mb(p.rss), heapMB: mb(p.heapUsed), requests: seq });
      const wait = Math.min(every * 1000, end - Date.now());
      if (wait <= 0) break;
      await sleep(wait);
    }
  })();
  await Promise.all(
    Array.from({ length: o.concurrency ?? 8 }, async () => {
      while (Date.now() < end) await one();
    }),
  );
  sampling = false;
  await sampler;
  const drained = await waitProbe(t, (p) => p.lanes === 0 && p.queueDepth === 0 && p.inFlightCalls === 0, 15_000);
  const last = await t.probe({ gc: true });
  samples.push({ s: Math.round((Date.now() - t0) / 100) / 10, rssMB: mb(last.rss), heapMB: mb(last.heapUsed), requests: seq });
  // the first sixth is warm-up (JIT, arenas, caches filling)
  const warm = samples.filter((x) => x.s >= o.durationS / 6);
  const steady = warm.length >= 2 ? warm : samples;
  return {
    durationS: Math.round((Date.now() - t0) / 1000),
    requests: seq,
    statuses,
    fiveXX: Object.entries(statuses).filter(([s]) => Number(s) >= 500).reduce((a, [, n]) => a + n, 0),
    clientErrors,
    aborted,
    p50Ms: Math.round(percentile(ms, 50)),
    p99Ms: Math.round(percentile(ms, 99)),
    samples,
    rssStartMB: steady[0].rssMB,
    rssEndMB: steady[steady.length - 1].rssMB,
    rssMaxMB: Math.max(...samples.map((x) => x.rssMB)),
    heapStartMB: steady[0].heapMB,
    heapEndMB: steady[steady.length - 1].heapMB,
    rssSlopeMBPerMin: Math.round(slope(steady.map((x) => x.s / 60), steady.map((x) => x.rssMB)) * 100) / 100,
    heapSlopeMBPerMin: Math.round(slope(steady.map((x) => x.s / 60), steady.map((x) => x.heapMB)) * 100) / 100,
    leakedLanes: drained.probe.lanes + drained.probe.queueDepth,
    crashes: t.crashes(),
  };
}
