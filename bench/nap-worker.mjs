// The thread hand-off probe of `npm run bench:ceiling`: a worker thread that, for each message
// {ms}, sleeps that long (Atomics.wait: its thread blocks, as an idle session's does) and answers.
// The round trip minus the sleep is what one hand-off to an idle thread and back costs on this
// machine. A lone image pays it on every step (main → sessions → main); raw onnxruntime's
// side-by-side sessions pay only a one-way wake at the barrier where they meet after each step.
import { parentPort } from 'node:worker_threads';

const nap = new Int32Array(new SharedArrayBuffer(4));
parentPort.on('message', (ms) => {
  if (ms > 0) Atomics.wait(nap, 0, 0, ms);
  parentPort.postMessage(ms);
});
