/**
 * Steady, bounded load for the rolling-restart test: an open loop of POST /v1/generate/image at a fixed
 * rate (one guided 2-step PNG each) over keep-alive connections, as a client behind a load
 * balancer sends it. It does not retry: any answer but a 200 PNG counts against the deployment.
 * Bounded by its rate × duration and by maxInFlight (past it, sending pauses and says so).
 */
import http from 'node:http';

export interface LoadOutcome {
  sent: number;
  ok: number;
  /** non-200 answers and socket errors, by status or error code */
  failed: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /** ticks at which sending was paused because maxInFlight requests were outstanding */
  paused: number;
}

export interface SteadyLoad {
  stop(): Promise<LoadOutcome>;
  readonly sent: number;
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function steadyLoad(port: number, o: { ratePerS: number; maxSeconds: number; maxInFlight: number; model: string; classes: number }): SteadyLoad {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxInFlight });
  const latencies: number[] = [];
  const failed: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let ok = 0;
  let paused = 0;

  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const body = Buffer.from(JSON.stringify({ model: o.model, class: i % o.classes, guidance: 1.5, steps: 2, seed: i }));
      const t0 = performance.now();
      const fail = (why: string) => {
        failed[why] = (failed[why] ?? 0) + 1;
        resolve();
      };
      const req = http.request(
        { host: '127.0.0.1', port, path: '/v1/generate/image', method: 'POST', agent, timeout: 60_000, headers: { 'content-type': 'application/json', 'content-length': String(body.length), accept: 'image/png' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? 'response error'));
          res.on('end', () => {
            const b = Buffer.concat(chunks);
            if (res.statusCode === 200 && b.subarray(0, 8).equals(PNG)) {
              ok++;
              latencies.push(performance.now() - t0);
              resolve();
            } else fail(`${res.statusCode} ${b.toString('utf8', 0, 80)}`);
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
      req.end(body);
    });

  const t0 = Date.now();
  const every = 1000 / o.ratePerS;
  let next = 0;
  // a fixed schedule (not "every tick, one more"): a slow tick is made up on the next
  const timer = setInterval(() => {
    const due = Math.min(Math.floor((Date.now() - t0) / every), Math.floor(o.ratePerS * o.maxSeconds));
    while (next < due) {
      if (pending.size >= o.maxInFlight) {
        paused++;
        break;
      }
      const p = one(next++).finally(() => pending.delete(p));
      pending.add(p);
      sent++;
    }
  }, Math.max(5, Math.floor(every / 2)));

  return {
    get sent() {
      return sent;
    },
    async stop() {
      clearInterval(timer);
      // every request sent gets its answer (each is bounded by its own 60 s timeout)
      await Promise.all([...pending]);
      agent.destroy();
      const s = [...latencies].sort((a, b) => a - b);
      const q = (p: number) => (s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]) : NaN);
      return { sent, ok, failed, latencyMs: { p50: q(0.5), p99: q(0.99), max: Math.round(s.at(-1) ?? NaN) }, paused };
    },
  };
}
