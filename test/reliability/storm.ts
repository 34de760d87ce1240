/**
 * Disconnect storm (issue 6, item 3): many requests whose clients vanish at random points —
 * while the body is still uploading, queued, mid-batch, while their images are encoded or sent —
 * mixed with control requests that stay connected. Afterwards no lane may be left behind
 * (queue depth, lanes and calls in flight back to 0), the service must have thrown nothing
 * unhandled, and every control must have succeeded with the images the same seed gives an
 * undisturbed request (and the PyTorch reference, test/golden, where it has that seed).
 */
import net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { rng } from '../../loadtest/common.js'; // the seeded PRNG (mulberry32) the load tests use
import { pool, post, waitProbe, type Target } from './harness.js';

interface Spec {
  model: string;
  class: number;
  guidance?: number;
  steps?: number;
  sigmas?: number[];
  sampler?: 'ode' | 'consistency';
  seed: number;
  num_images: number;
  format?: string;
  scale?: number;
}

interface Golden {
  sampler: Array<{ model: string; class: number; guidance: number; sigmas: number[]; sampler: 'ode' | 'consistency'; seed: number; index: number; pixels: number[] }>;
}

async function planar(b64: string): Promise<Uint8Array> {
  const { data, info } = await sharp(Buffer.from(b64, 'base64')).raw().toBuffer({ resolveWithObject: true });
  const hw = info.width * info.height;
  const out = new Uint8Array(info.channels * hw);
  for (let p = 0; p < hw; p++) for (let c = 0; c < info.channels; c++) out[c * hw + p] = data[p * info.channels + c];
  return out;
}

const maxDiff = (a: Uint8Array, b: ArrayLike<number>) => {
  if (a.length !== b.length) return 255;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

export interface StormOptions {
  /** clients that disconnect */
  aborts: number;
  /** connected control requests, interleaved */
  controls: number;
  concurrency: number;
  models: { guided: string; plain: string; classes: number };
  goldenFile?: string;
  seed?: number;
}

export interface StormResult {
  /** abort attempts (top-ups included) */
  attempted: number;
  /** clients that went away before their response was complete */
  aborted: number;
  /** of the attempted, those whose response arrived before the client's timer fired (not counted as aborts) */
  finishedFirst: number;
  /** where the aborts landed, as the client saw it */
  abortStages: { uploading: number; waiting: number };
  /** as the service saw it: lanes dropped from the scheduler (queued or mid-batch) and requests abandoned mid-upload */
  serverDroppedInScheduler: number;
  serverAbortedUploads: number;
  controls: number;
  controlsOk: number;
  controlImages: number;
  /** control images identical to the undisturbed reference / within ±1 */
  exactImages: number;
  withinOne: number;
  goldenChecked: number;
  goldenWithinOne: number;
  leakedLanes: number;
  leakedQueue: number;
  callsInFlightAfter: number;
  drainMs: number;
  server5xx: number;
  internalErrors: number;
  crashes: number;
}


/** Send the headers and part of the body, then vanish after `ms`. */
function uploadAndVanish(port: number, body: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      const b = Buffer.from(body);
      s.write(`POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`);
      s.write(b.subarray(0, b.length >> 1));
      setTimeout(() => {
        s.destroy();
        resolve();
      }, ms);
    });
    s.on('error', () => resolve());
  });
}

export async function runStorm(t: Target, o: StormOptions): Promise<StormResult> {
  const rand = rng(o.seed ?? 20260101);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const randomSpec = (i: number): Spec => {
    const guided = rand() < 0.7;
    return {
      model: guided ? o.models.guided : o.models.plain,
      class: Math.floor(rand() * o.models.classes),
      ...(guided ? { guidance: pick([0, 1, 1.3, 1.5, 2, 3]) } : {}),
      steps: 1 + Math.floor(rand() * 4),
      sampler: pick(['ode', 'consistency'] as const),
      seed: Math.floor(rand() * 2 ** 32),
      num_images: 1 + Math.floor(rand() * 4),
      format: pick(['png', 'png', 'webp', 'jpeg']),
      scale: pick([1, 2, 8]),
      ...(i < 0 ? {} : {}),
    };
  };

  // control specs: the golden ones for these models, then random ones; PNG so pixels are exact
  const controlSpecs: Array<{ spec: Spec; golden?: { index: number; pixels: number[] } }> = [];
  if (o.goldenFile && existsSync(o.goldenFile)) {
    const g = JSON.parse(readFileSync(o.goldenFile, 'utf8')) as Golden;
    for (const s of g.sampler) {
      if (s.model !== o.models.guided && s.model !== o.models.plain) continue;
      controlSpecs.push({
        spec: { model: s.model, class: s.class, guidance: s.guidance, sigmas: s.sigmas, sampler: s.sampler, seed: s.seed, num_images: s.index + 1, format: 'png' },
        golden: { index: s.index, pixels: s.pixels },
      });
    }
  }
  while (controlSpecs.length < Math.min(o.controls, 40)) controlSpecs.push({ spec: { ...randomSpec(controlSpecs.length), format: 'png', scale: 1 } });

  // references: each control spec once, undisturbed, one at a time
  const reference: Uint8Array[][] = [];
  let goldenChecked = 0;
  let goldenWithinOne = 0;
  for (const c of controlSpecs) {
    const r = await post(t.port, '/v1/generate', c.spec);
    if (r.status !== 200) throw new Error(`reference request failed: ${r.status} ${r.body.toString().slice(0, 200)}`);
    const imgs = await Promise.all(JSON.parse(r.body.toString()).images.map((im: { b64: string }) => planar(im.b64)));
    reference.push(imgs);
    if (c.golden) {
      goldenChecked++;
      if (maxDiff(imgs[c.golden.index], c.golden.pixels) <= 1) goldenWithinOne++;
    }
  }
  const before = await t.probe();

  // the storm: aborts and controls interleaved
  type Task = { kind: 'abort'; spec: Spec; stage: 'uploading' | 'waiting'; ms: number } | { kind: 'control'; ref: number };
  const tasks: Task[] = [];
  for (let i = 0; i < o.aborts; i++) {
    const uploading = rand() < 0.1;
    // log-uniform 0.2 ms … 400 ms after the request was sent: queued, mid-batch, encoding, sending
    const ms = uploading ? rand() * 20 : 0.2 * Math.pow(2000, rand());
    tasks.push({ kind: 'abort', spec: randomSpec(i), stage: uploading ? 'uploading' : 'waiting', ms });
  }
  for (let i = 0; i < o.controls; i++) tasks.splice(Math.floor(rand() * (tasks.length + 1)), 0, { kind: 'control', ref: i % controlSpecs.length });

  let aborted = 0;
  let finishedFirst = 0;
  const stages = { uploading: 0, waiting: 0 };
  let controlsOk = 0;
  let controlImages = 0;
  let exact = 0;
  let withinOne = 0;
  await pool(tasks.length, o.concurrency, async (i) => {
    const task = tasks[i];
    if (task.kind === 'abort') {
      if (task.stage === 'uploading') {
        await uploadAndVanish(t.port, JSON.stringify(task.spec), task.ms);
        aborted++;
        stages.uploading++;
        return;
      }
      const r = await post(t.port, '/v1/generate', task.spec, { abortAfterMs: task.ms });
      if (r.error === 'aborted') {
        aborted++;
        stages.waiting++;
      } else finishedFirst++;
      return;
    }
    const r = await post(t.port, '/v1/generate', controlSpecs[task.ref].spec, { timeoutMs: 60_000 });
    if (r.status !== 200) return;
    controlsOk++;
    const imgs = await Promise.all(JSON.parse(r.body.toString()).images.map((im: { b64: string }) => planar(im.b64)));
    imgs.forEach((img, k) => {
      controlImages++;
      const d = maxDiff(img, reference[task.ref][k]);
      if (d === 0) exact++;
      if (d <= 1) withinOne++;
    });
  });

  // top up until the target number of clients really went away (a few finish before their timer)
  for (let extra = 0; aborted < o.aborts && extra < o.aborts; extra++) {
    const r = await post(t.port, '/v1/generate', randomSpec(extra), { abortAfterMs: rand() * 5 });
    if (r.error === 'aborted') {
      aborted++;
      stages.waiting++;
    } else finishedFirst++;
  }

  const tDrain = Date.now();
  const drained = await waitProbe(t, (p) => p.lanes === 0 && p.queueDepth === 0 && p.inFlightCalls === 0, 15_000);
  const p = drained.probe;
  const fiveXX = Object.entries(p.statuses).filter(([s]) => Number(s) >= 500 && Number(s) !== 503).reduce((a, [, n]) => a + n, 0);
  return {
    attempted: aborted + finishedFirst,
    aborted,
    finishedFirst,
    abortStages: stages,
    serverDroppedInScheduler: p.aborted - before.aborted,
    serverAbortedUploads: p.requestAborts - before.requestAborts,
    controls: o.controls,
    controlsOk,
    controlImages,
    exactImages: exact,
    withinOne,
    goldenChecked,
    goldenWithinOne,
    leakedLanes: p.lanes,
    leakedQueue: p.queueDepth,
    callsInFlightAfter: p.inFlightCalls,
    drainMs: Date.now() - tDrain,
    server5xx: fiveXX,
    internalErrors: p.internalErrors,
    crashes: t.crashes(),
  };
}
