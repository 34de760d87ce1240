/**
 * Checks a loaded graph's inputs and outputs against docs/model-contract.md §"ONNX graph":
 * x float32 [B,C,H,W], sigma float32 [B], class_labels int64 [B] → denoised float32 [B,C,H,W].
 * Fixed (numeric) dims must match the manifest's image size; symbolic ones are accepted.
 */
import type { ValueInfo } from '../engine/protocol.js';

interface Expect {
  name: string;
  type: string;
  rank: number;
  dims?: Array<number | null>;
}

/** Problems found, empty when the graph honours the contract. */
export function contractProblems(
  inputs: readonly ValueInfo[],
  outputs: readonly ValueInfo[],
  image: { channels: number; height: number; width: number },
): string[] {
  const chw = [null, image.channels, image.height, image.width];
  const wantIn: Expect[] = [
    { name: 'x', type: 'float32', rank: 4, dims: chw },
    { name: 'sigma', type: 'float32', rank: 1 },
    { name: 'class_labels', type: 'int64', rank: 1 },
  ];
  const problems: string[] = [];
  const check = (kind: string, have: readonly ValueInfo[], want: Expect) => {
    const v = have.find((h) => h.name === want.name);
    if (!v) return problems.push(`${kind} "${want.name}" is missing (graph has ${have.map((h) => h.name).join(', ') || 'none'})`);
    if (!v.isTensor) return problems.push(`${kind} "${want.name}" is not a tensor`);
    if (v.type !== undefined && v.type !== want.type) problems.push(`${kind} "${want.name}" is ${v.type}, expected ${want.type}`);
    if (v.shape !== undefined) {
      if (v.shape.length !== want.rank) problems.push(`${kind} "${want.name}" has rank ${v.shape.length}, expected ${want.rank}`);
      else
        want.dims?.forEach((d, i) => {
          const got = v.shape![i];
          if (d !== null && typeof got === 'number' && got >= 0 && got !== d)
            problems.push(`${kind} "${want.name}" dim ${i} is ${got}, expected ${d} (from model.json image)`);
        });
    }
  };
  for (const w of wantIn) check('input', inputs, w);
  const extra = inputs.filter((i) => !wantIn.some((w) => w.name === i.name));
  if (extra.length) problems.push(`unexpected inputs ${extra.map((e) => e.name).join(', ')}`);
  if (outputs.length !== 1) problems.push(`expected exactly one output "denoised", graph has ${outputs.map((o) => o.name).join(', ') || 'none'}`);
  check('output', outputs, { name: 'denoised', type: 'float32', rank: 4, dims: chw });
  return problems;
}
