/**
 * (v) Step- vs request-level batching (BATCHING=step|request) on the mixed workload (steps 1–4,
 * guidance 0–4, one image per request) at 1, 4, 16 and 64 clients: images/s, p50, p99 — the
 * latency-vs-load curve of the plot. Both servers run at once (the idle one costs nothing) and
 * are measured in alternation, so a drift of the machine's speed hits both modes alike.
 */
import { mixedBody, rng, startServer } from '../../loadtest/common.js';
import { drive, type Drive } from '../drive.js';
import type { Workload } from '../workload.js';

export const SWEEP_CLIENTS = [1, 4, 16, 64];
const MODES = ['step', 'request'] as const;
const SWEEP_ROUNDS = 2;

export type Sweeps = Record<(typeof MODES)[number], Drive[]>;

export async function batchingPhase(w: Workload, port: number, seconds: number, warmS: number, env: Record<string, string>): Promise<Sweeps> {
  console.log(`(v) step- vs request-level batching, mixed workload, ${SWEEP_CLIENTS.join('/')} clients, ${SWEEP_ROUNDS} alternating rounds of ${(seconds / SWEEP_ROUNDS).toFixed(1)} s per mode`);
  const sweeps: Sweeps = { step: [], request: [] };
  const servers = await Promise.all(MODES.map((mode, k) => startServer(w.m, port + k, { ...env, BATCHING: mode })));
  try {
    const r = rng(21); // the same request sequence for both modes
    const seq = Array.from({ length: 20_000 }, () => mixedBody(w.m, r));
    for (const s of servers) await drive(s, w.m.graph.model, 64, warmS, (i) => seq[(i + 10_000) % seq.length], 'application/json', 0);
    for (const clients of SWEEP_CLIENTS) {
      const parts: Sweeps = { step: [], request: [] };
      const secs = (clients === 64 ? seconds * 1.5 : seconds) / SWEEP_ROUNDS;
      for (let k = 0; k < SWEEP_ROUNDS; k++) {
        const order = k % 2 ? [...MODES].reverse() : MODES;
        for (const mode of order) parts[mode].push(await drive(servers[MODES.indexOf(mode)], w.m.graph.model, clients, secs, (i) => seq[(i + k * 5000) % seq.length], 'application/json'));
      }
      for (const mode of MODES) {
        const ds = parts[mode];
        const lat = ds.flatMap((d) => d.lat).sort((x, y) => x - y);
        const at = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
        const d: Drive = {
          clients,
          imagesPerS: ds.reduce((x, y) => x + y.imagesPerS, 0) / ds.length,
          p50: at(50),
          p99: at(99),
          errors: ds.reduce((x, y) => x + y.errors, 0),
          avgRows: ds.reduce((x, y) => x + y.avgRows, 0) / ds.length,
          lat: [],
        };
        sweeps[mode].push(d);
        process.stderr.write(`  ${mode} ${clients} clients: ${d.imagesPerS.toFixed(1)} images/s, p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms, ${d.avgRows.toFixed(1)} rows/call${d.errors ? `, ${d.errors} errors` : ''}\n`);
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  return sweeps;
}
