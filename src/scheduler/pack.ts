/**
 * Packing lane parts into the rows of one network call, and handing the call's output rows back
 * to their lanes. A lane's parts sit in consecutive rows when they share a call (class row, then
 * null-class row), so the common case reads both outputs in place; a lane split over two calls
 * (see policy.planCalls, "spread") keeps the first output that returns in its own buffer until
 * its sibling arrives — one copy of C·H·W floats, only for split lanes.
 */
import type { BatchBuffers } from '../engine/index.js';
import type { Lane } from './queue.js';

/** A planned call resolved to lanes: the lane and part of each row. */
export interface CallRows {
  lanes: Lane[];
  parts: number[];
}

/**
 * Write the rows: x of the lane (the same x for both parts), σ of its step, and the class or
 * null-class label. Returns the guided rows among them (for metrics).
 */
export function packRows(call: CallRows, buf: BatchBuffers, n: number): number {
  let guidedRows = 0;
  for (let r = 0; r < call.lanes.length; r++) {
    const lane = call.lanes[r];
    const part = call.parts[r];
    buf.x.set(lane.x, r * n);
    buf.sigma[r] = lane.spec.sigmas[lane.step];
    buf.labels[r] = lane.job.labels[part];
    if (lane.rows === 2) guidedRows++;
  }
  return guidedRows;
}

/**
 * Deliver the output rows of a call to their lanes. `ready(lane, dC, dU)` is called for each lane
 * whose parts are all back (dU null for an unguided lane); the views are valid only during the
 * call. Lanes of ended jobs are skipped (their output is discarded).
 */
export function deliverRows(
  call: CallRows,
  out: Float32Array,
  n: number,
  ready: (lane: Lane, dC: Float32Array, dU: Float32Array | null) => void,
): void {
  for (let r = 0; r < call.lanes.length; r++) {
    const lane = call.lanes[r];
    const part = call.parts[r];
    const row = out.subarray(r * n, (r + 1) * n);
    // both parts in this call, side by side: read them in place
    if (part === 0 && lane.rows === 2 && call.lanes[r + 1] === lane) {
      lane.pending -= 2;
      r++;
      if (!lane.job.done) ready(lane, row, out.subarray(r * n, (r + 1) * n));
      continue;
    }
    lane.pending--;
    if (lane.job.done) continue;
    if (lane.rows === 1) {
      ready(lane, row, null);
      continue;
    }
    if (lane.partialPart < 0) {
      // the first of a split lane's two parts: keep it until the other arrives
      (lane.partial ??= new Float32Array(n)).set(row);
      lane.partialPart = part;
      continue;
    }
    const held = lane.partial as Float32Array;
    lane.partialPart = -1;
    if (part === 0) ready(lane, row, held);
    else ready(lane, held, row);
  }
}
