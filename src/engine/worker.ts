/**
 * A session worker: owns one onnxruntime InferenceSession. `session.run` of onnxruntime-node
 * blocks the thread that calls it (the binding runs the graph synchronously), so it must never
 * run on the HTTP event loop; each worker runs one call at a time, and queued calls wait in its
 * message queue (the pipeline that keeps it busy).
 *
 * Execution providers are tried in the configured order, each on its own, so the one reported
 * is the one actually in use (onnxruntime would otherwise silently place the graph on CPU).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { transferList, type ExitRequest, type ProviderAttempt, type RunRequest, type ValueInfo, type WorkerInit, type WorkerMessage } from './protocol.js';
import { contractFeeds, sessionOptions } from './session.js';

const init = workerData as WorkerInit;
const port = parentPort!;

// On Linux niceness belongs to a thread: setpriority(PRIO_PROCESS, 0) — what os.setPriority()
// calls — lowers this worker thread alone, and the onnxruntime intra-op threads created below
// inherit it. On a saturated machine the HTTP event loop (niceness 0) then gets a core as soon
// as a request or a health probe arrives, instead of waiting out the inference threads' slices.
if (init.nice) {
  try {
    setPriority(init.nice);
  } catch {
    // not permitted or not supported: run at the process's priority
  }
}
ort.env.logLevel = 'error';

function post(msg: WorkerMessage, transfer: ArrayBuffer[] = []) {
  port.postMessage(msg, transfer);
}

function infos(meta: readonly ort.InferenceSession.ValueMetadata[] | undefined, names: readonly string[]): ValueInfo[] {
  if (!meta) return names.map((name) => ({ name, isTensor: true }));
  return meta.map((m) =>
    m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false },
  );
}

/**
 * Whether a provider that is not bundled with onnxruntime-node (CUDA, TensorRT: fetched by its
 * postinstall, skipped here via `onnxruntime-node-install=skip`) has its shared library next to
 * the binding. Checking first avoids onnxruntime's noisy native error for a missing library.
 * Unknown layouts answer true, so the real attempt decides.
 */
function providerLibraryPresent(provider: string): boolean {
  try {
    const root = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin');
    const dirs: string[] = [];
    for (const napi of readdirSync(root)) dirs.push(join(root, napi, process.platform, process.arch));
    const existing = dirs.filter((d) => existsSync(d));
    if (!existing.length) return true;
    return existing.some((d) => readdirSync(d).some((f) => f.includes(`providers_${provider}`)));
  } catch {
    return true;
  }
}

async function load(): Promise<ort.InferenceSession | null> {
  const attempts: ProviderAttempt[] = [];
  const backends = new Map(ort.listSupportedBackends().map((b) => [b.name, b]));
  for (const provider of init.providers) {
    const backend = backends.get(provider);
    if (!backend) {
      attempts.push({ provider, error: 'not supported by this onnxruntime-node build' });
      continue;
    }
    if (!backend.bundled && !providerLibraryPresent(provider)) {
      attempts.push({ provider, error: `provider library not installed (onnxruntime-node was installed with its ${provider} download skipped)` });
      continue;
    }
    const t0 = performance.now();
    try {
      const session = await ort.InferenceSession.create(init.graphPath, sessionOptions(provider, init.intraOpThreads));
      post({
        type: 'ready',
        provider,
        attempts,
        inputs: infos(session.inputMetadata, session.inputNames),
        outputs: infos(session.outputMetadata, session.outputNames),
        loadMs: performance.now() - t0,
      });
      return session;
    } catch (e) {
      attempts.push({ provider, error: (e instanceof Error ? e.message : String(e)).split('\n')[0] });
    }
  }
  post({ type: 'load-error', message: `no execution provider could load the graph (${attempts.map((a) => `${a.provider}: ${a.error}`).join('; ')})`, attempts });
  return null;
}

const session = await load();
if (session) {
  const outName = session.outputNames[0];
  // The output goes straight into the caller's buffer (a pre-allocated output tensor), so a call
  // allocates no output array here and copies nothing back; a provider that refuses a
  // pre-allocated output falls back to onnxruntime's own, copied once.
  let preallocated = true;
  // Calls run one at a time from this queue, each timed from its own start. Handed straight to
  // session.run as they arrived, every queued call's clock would start at once (the binding runs
  // each from a setImmediate), and a call behind another would report both calls' time: at
  // saturation, with PIPELINE_DEPTH calls queued per worker, jfdl_network_call_duration_seconds
  // read 1.3x the real call time (digits16, 32-row calls: a mean of 60 ms against 46 ms timed
  // this way) and Retry-After's rate read low by as much.
  let queue = Promise.resolve();
  const runOne = async (req: RunRequest) => {
    const { id, rows, chw, x, sigma, labels, out } = req;
    const used = rows * chw[0] * chw[1] * chw[2];
    const transfer = transferList(req);
    try {
      const feeds = contractFeeds(ort.Tensor, rows, chw, x, sigma, labels);
      const t0 = performance.now();
      if (preallocated) {
        try {
          await session.run(feeds, { [outName]: new ort.Tensor('float32', out.subarray(0, used), [rows, chw[0], chw[1], chw[2]]) });
        } catch {
          preallocated = false;
        }
      }
      if (!preallocated) out.set((await session.run(feeds))[outName].data as Float32Array);
      post({ type: 'result', id, x, sigma, labels, out, used, runMs: performance.now() - t0 }, transfer);
    } catch (e) {
      post({ type: 'run-error', id, message: e instanceof Error ? e.message : String(e), x, sigma, labels, out }, transfer);
    }
  };
  port.on('message', (req: RunRequest | ExitRequest) => {
    // runs are synchronous inside the binding, so this is always between two runs
    if (req.type === 'exit') process.exit(req.code);
    // runOne answers its own errors, so the chain never rejects
    queue = queue.then(() => runOne(req));
  });
}
