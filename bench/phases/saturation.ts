/**
 * (iii) The service at saturation: 64 clients looping one-image guided 2-step requests, warmed
 * for `warmS` (the /healthz probe runs in the second two thirds of the warm-up, saturated too,
 * and not inside the compared windows, where its process would take CPU from the service).
 * Then `rounds` rounds, each: the service for a while, and — with the server idle — raw
 * onnxruntime in the service's layout at the batch the service just ran, and at each candidate
 * for the raw limit (the sweep's best points, bench/phases/raw-sweep.ts); the round's raw limit
 * is the fastest of all of these, so a noisy sweep cannot flatter the ratio. Side by side, so
 * the machine's drift cancels.
 */
import { getJson, pct, startServer } from '../../loadtest/common.js';
import { drive, probeHealth } from '../drive.js';
import { layoutName, pointName, rawThroughput } from '../raw.js';
import type { RawPoint } from './raw-sweep.js';
import type { Workload } from '../workload.js';

export interface SaturationRound {
  service: number;
  rowsPerCall: number;
  /** images per call the service ran (rows per call ÷ rows per image and step) */
  batch: number;
  rawSameBatch: number;
  /** the fastest raw point of the round: the service's batch or a candidate */
  rawBest: number;
  rawBestAt: string;
  ratioSameBatch: number;
  ratioBest: number;
}

export interface Saturation {
  clients: number;
  rounds: SaturationRound[];
  imagesPerS: number;
  p50: number;
  p99: number;
  errors: number;
  avgRows: number;
  healthP50: number;
  healthP99: number;
  healthN: number;
  engine: { workers: number; intra_op_threads: number; target_rows?: number } | null;
  ratioSameBatch: number;
  ratioBest: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export async function saturationPhase(
  w: Workload,
  port: number,
  candidates: readonly RawPoint[],
  o: { clients: number; rounds: number; seconds: number; warmS: number; env: Record<string, string> },
): Promise<Saturation> {
  const roundS = o.seconds / o.rounds;
  console.log(`(iii) service at saturation: ${o.clients} clients, ${o.rounds} rounds of ${roundS.toFixed(1)} s, each followed by raw onnxruntime at the service's batch (${layoutName(w.serviceLayout)}) and at the raw limit's candidates (${candidates.map((c) => pointName(c.layout, c.batch)).join('; ')})`);
  const s = await startServer(w.m, port, o.env);
  const rounds: SaturationRound[] = [];
  try {
    const probeFrom = o.warmS / 3;
    const probe = (async () => {
      await new Promise((r) => setTimeout(r, probeFrom * 1000));
      return probeHealth(s.port, o.warmS - probeFrom - 0.5);
    })();
    await drive(s, w.m.graph.model, o.clients, o.warmS, w.body, 'image/png', 0);
    const health = await probe;
    const lat: number[] = [];
    let errors = 0;
    let rows = 0;
    const perStep = w.guided ? 2 : 1;
    for (let k = 0; k < o.rounds; k++) {
      const d = await drive(s, w.m.graph.model, o.clients, roundS, w.body, 'image/png', 1);
      lat.push(...d.lat);
      errors += d.errors;
      rows += d.avgRows;
      const batch = Math.max(1, Math.round(d.avgRows / perStep));
      const t = Math.max(1, roundS * 0.6);
      const rawSameBatch = (await rawThroughput(w.raw, w.serviceLayout, [batch], t))[String(batch)];
      let rawBest = rawSameBatch;
      let rawBestAt = pointName(w.serviceLayout, batch);
      for (const c of candidates) {
        const name = pointName(c.layout, c.batch);
        if (name === pointName(w.serviceLayout, batch)) continue; // measured just above
        const v = (await rawThroughput(w.raw, c.layout, [c.batch], t))[String(c.batch)];
        if (v > rawBest) [rawBest, rawBestAt] = [v, name];
      }
      rounds.push({ service: d.imagesPerS, rowsPerCall: d.avgRows, batch, rawSameBatch, rawBest, rawBestAt, ratioSameBatch: d.imagesPerS / rawSameBatch, ratioBest: d.imagesPerS / rawBest });
      process.stderr.write(
        `  round ${k + 1}: service ${d.imagesPerS.toFixed(1)} images/s (${d.avgRows.toFixed(1)} rows/call); raw at batch ${batch} ${rawSameBatch.toFixed(1)} → ${(d.imagesPerS / rawSameBatch).toFixed(3)}; raw limit ${rawBest.toFixed(1)} (${rawBestAt}) → ${(d.imagesPerS / rawBest).toFixed(3)}\n`,
      );
    }
    lat.sort((a, b) => a - b);
    const info = await getJson<{ engine?: Saturation['engine'] }>(s.port, `/v1/models/${w.m.graph.model}`);
    return {
      clients: o.clients,
      rounds,
      imagesPerS: rounds.reduce((a, r) => a + r.service, 0) / rounds.length,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      errors,
      avgRows: rows / o.rounds,
      healthP50: pct(health, 50),
      healthP99: pct(health, 99),
      healthN: health.length,
      engine: info?.engine ?? null,
      // headline ratios: the medians of the rounds — one round caught in a dip of the machine's
      // speed (either side) moves a mean but not the median
      ratioSameBatch: median(rounds.map((r) => r.ratioSameBatch)),
      ratioBest: median(rounds.map((r) => r.ratioBest)),
    };
  } finally {
    await s.stop();
  }
}
