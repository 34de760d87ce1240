/**
 * Fault injection (issue 6, item 4): broken model folders at start-up, and engine workers that
 * die under load. Broken folders are copies of the tiny fixture in a temporary directory (the
 * committed fixture is never touched).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get, post, sleep, startTarget, waitProbe, type JsonOutcome } from './harness.js';

const TINY = 'test/fixtures/models/tiny-rgb8';

type Edit = (dir: string, m: Record<string, any>) => void;

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Each fault: how to break a copy of the fixture, and how its error must read. */
export const FAULTS: Record<string, { edit: Edit; expect: RegExp; what: string }> = {
  'fault-truncated': {
    what: 'graph file truncated to half (manifest hash updated, so onnxruntime must reject it)',
    edit: (dir, m) => {
      const p = join(dir, m.graphs[0].file);
      const b = readFileSync(p);
      writeFileSync(p, b.subarray(0, b.length >> 1));
      m.graphs[0].sha256 = sha(p);
    },
    expect: /no execution provider could load the graph.*cpu: /i,
  },
  'fault-garbage': {
    what: 'graph file replaced by random bytes (hash updated)',
    edit: (dir, m) => {
      const p = join(dir, m.graphs[0].file);
      writeFileSync(p, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)));
      m.graphs[0].sha256 = sha(p);
    },
    expect: /no execution provider could load the graph/i,
  },
  'fault-hash': {
    what: 'manifest SHA-256 does not match the graph',
    edit: (_dir, m) => (m.graphs[0].sha256 = '0'.repeat(64)),
    expect: /SHA-256 mismatch for .*\.onnx/,
  },
  'fault-contract': {
    what: 'manifest image size does not match the graph (1 channel vs 3)',
    edit: (_dir, m) => (m.image = { ...m.image, channels: 1 }),
    expect: /breaks the model contract: .*dim 1 is 3, expected 1/,
  },
  'fault-missing': {
    what: 'graph file missing',
    edit: (dir, m) => rmSync(join(dir, m.graphs[0].file)),
    expect: /graph file .*\.onnx not found/,
  },
  'fault-manifest': {
    what: 'manifest invalid (sigma block missing)',
    edit: (_dir, m) => delete m.sigma,
    expect: /model\.json is invalid: .*sigma/,
  },
};

/** A models folder with one healthy copy of the fixture ("healthy") and one folder per fault. */
export function faultyModelsDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'jfdl-faults-'));
  const make = (name: string, edit?: Edit) => {
    const dir = join(root, name);
    cpSync(TINY, dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    m.name = name;
    // one graph per folder (the guided one), served under the folder's name
    m.graphs = [{ ...m.graphs.find((g: { null_class: unknown }) => g.null_class !== null), model: name }];
    edit?.(dir, m);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(m, null, 1));
  };
  make('healthy');
  for (const [name, f] of Object.entries(FAULTS)) make(name, f.edit);
  return root;
}

export interface FaultReport {
  name: string;
  what: string;
  /** the start-up log names the model and the reason */
  logged: boolean;
  /** GET /v1/models lists it with status error and the reason */
  listed: boolean;
  /** POST /v1/generate for it answers 503 model_unavailable with the reason */
  refused: boolean;
  /** /readyz lists it as failed */
  inReadyz: boolean;
  error: string;
}

export interface StartupFaultsResult {
  faults: FaultReport[];
  healthyServes: boolean;
  readyzStatus: number;
  crashes: number;
}

export async function runStartupFaults(): Promise<StartupFaultsResult> {
  const dir = faultyModelsDir();
  const t = await startTarget({ MODELS_DIR: dir });
  try {
    const models = JSON.parse((await get(t.port, '/v1/models')).body.toString()).models as Array<{ name: string; status: string; error?: string }>;
    const readyz = await get(t.port, '/readyz');
    const ready = JSON.parse(readyz.body.toString());
    const log = t.output();
    const healthy = await post(t.port, '/v1/generate', { model: 'healthy', class: 0, seed: 1 });
    const faults: FaultReport[] = [];
    for (const [name, f] of Object.entries(FAULTS)) {
      const listed = models.find((m) => m.name === name);
      const res = await post(t.port, '/v1/generate', { model: name, class: 0 });
      const body = res.status ? JSON.parse(res.body.toString()) : {};
      const logLines = log.split('\n').filter((l) => l.includes(`"model":"${name}"`) && l.includes('model skipped'));
      faults.push({
        name,
        what: f.what,
        logged: logLines.some((l) => f.expect.test(JSON.parse(l).error ?? '')),
        listed: listed?.status === 'error' && f.expect.test(listed.error ?? ''),
        refused: res.status === 503 && body.error === 'model_unavailable' && f.expect.test(body.message ?? ''),
        inReadyz: Array.isArray(ready.failed) && ready.failed.some((x: { model: string; error: string }) => x.model === name && f.expect.test(x.error)),
        error: listed?.error ?? '(not listed)',
      });
    }
    return { faults, healthyServes: healthy.status === 200, readyzStatus: readyz.status, crashes: t.crashes() };
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface WorkerDeathResult {
  /** requests in flight when the worker was killed, by outcome */
  inFlight: number;
  ok: number;
  unavailable503: number;
  /** 503s without Retry-After, or any other status / no response */
  other: Array<{ status: number; body: string }>;
  /** slowest settle time after the kill, ms (a hang would be the client timeout) */
  settleMs: number;
  readyzDuringRestart: number;
  readyzAfter: number;
  restartMs: number;
  servesAfter: boolean;
  leakedLanes: number;
  /** crash loop: the engine gives up after repeated deaths, refuses at once with 503, readyz says why */
  gaveUp: boolean;
  refusedAfterGiveUpMs: number;
  readyzAfterGiveUp: string;
  otherModelServes: boolean;
  /** how the process ended when closed with calls in flight ("code 0") */
  shutdownUnderLoad: string;
  crashes: number;
}

/** Kill an engine worker under load, then drive one into a crash loop. */
export async function runWorkerDeath(opts: { requests?: number } = {}): Promise<WorkerDeathResult> {
  const t = await startTarget({ MAX_WAIT_MS: '20' });
  const model = 'tiny-rgb8';
  try {
    const n = opts.requests ?? 16;
    const t0 = Date.now();
    const pending = Array.from({ length: n }, (_, i) => post(t.port, '/v1/generate', { model, class: i % 4, num_images: 8, steps: 8, seed: i }, { timeoutMs: 30_000 }));
    await waitProbe(t, (p) => p.inFlightCalls > 0, 10_000, 2);
    const tKill = Date.now();
    await t.killWorker(model, 0);
    const readyzDuring = (await get(t.port, '/readyz')).status;
    const settled: JsonOutcome[] = [];
    let settleMs = 0;
    await Promise.all(
      pending.map(async (p) => {
        const r = await p;
        settleMs = Math.max(settleMs, Date.now() - tKill);
        settled.push(r);
      }),
    );
    const other = settled
      .filter((r) => !(r.status === 200 || (r.status === 503 && JSON.parse(r.body.toString()).error === 'engine_unavailable' && r.headers['retry-after'])))
      .map((r) => ({ status: r.status, body: r.body.toString().slice(0, 200) || (r.error ?? '') }));
    const back = await waitProbe(t, (p) => p.models[model].alive, 15_000);
    const restartMs = Date.now() - tKill;
    const readyzAfter = (await get(t.port, '/readyz')).status;
    const after = await post(t.port, '/v1/generate', { model, class: 0, seed: 3 });
    const drained = await waitProbe(t, (p) => p.lanes === 0 && p.queueDepth === 0, 5_000);
    void t0;

    // crash loop: kill the worker each time it comes back until the engine gives up
    let gaveUp = false;
    for (let k = 0; k < 8 && !gaveUp; k++) {
      const up = await waitProbe(t, (p) => p.models[model].alive || !!p.models[model].failure, 15_000);
      if (up.probe.models[model].failure) {
        gaveUp = true;
        break;
      }
      await t.killWorker(model, 0);
      await sleep(20);
      gaveUp = !!(await t.probe()).models[model].failure;
    }
    const tRefuse = Date.now();
    const refused = await post(t.port, '/v1/generate', { model, class: 0 }, { timeoutMs: 10_000 });
    const refusedMs = Date.now() - tRefuse;
    const rz = await get(t.port, '/readyz');
    const otherModel = await post(t.port, '/v1/generate', { model: 'tiny-rgb8-cm', class: 0 });
    // shutting down while calls run must end the process cleanly (not abort it mid-run)
    const load = Array.from({ length: 8 }, (_, i) => post(t.port, '/v1/generate', { model: 'tiny-rgb8-cm', class: 0, num_images: 8, steps: 8, seed: i }, { timeoutMs: 30_000 }));
    await waitProbe(t, (p) => p.inFlightCalls > 0, 10_000, 2);
    await t.stop();
    await Promise.all(load);
    const exit = t.exitStatus();
    return {
      inFlight: n,
      ok: settled.filter((r) => r.status === 200).length,
      unavailable503: settled.filter((r) => r.status === 503).length,
      other,
      settleMs,
      readyzDuringRestart: readyzDuring,
      readyzAfter,
      restartMs: back.ok ? restartMs : -1,
      servesAfter: after.status === 200,
      leakedLanes: drained.probe.lanes + drained.probe.queueDepth,
      gaveUp: gaveUp && refused.status === 503 && JSON.parse(refused.body.toString()).error === 'engine_unavailable',
      refusedAfterGiveUpMs: refusedMs,
      readyzAfterGiveUp: `${rz.status} ${rz.body.toString().slice(0, 300)}`,
      otherModelServes: otherModel.status === 200,
      shutdownUnderLoad: exit ? `code ${exit.code}${exit.signal ? ` signal ${exit.signal}` : ''}` : 'still running',
      crashes: t.crashes(),
    };
  } finally {
    await t.stop();
  }
}
