/**
 * Philox4x32-10 counter-based generator (Salmon, Moraes, Dror & Shaw, "Parallel random numbers:
 * as easy as 1, 2, 3", SC'11 — the generator of cuRAND and JAX), plus the Box–Muller transform
 * that turns its words into standard normals, exactly as docs/model-contract.md specifies.
 *
 * Counter-based means a block of noise is a pure function of (counter, key): an image's noise
 * depends only on its own (seed, index) and never on what else shares its batch.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/**
 * High 32 bits of the exact 64-bit product of two uint32 values. JS numbers hold only 53 bits,
 * so the product is split into 16-bit halves (schoolbook multiplication): every partial product
 * is < 2^32 and every sum < 2^34, all exact in float64.
 */
export function mulhi32(a: number, b: number): number {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const p0 = aL * bL;
  const p1 = aL * bH;
  const p2 = aH * bL;
  const p3 = aH * bH;
  const mid = (p0 >>> 16) + (p1 & 0xffff) + (p2 & 0xffff);
  return (p3 + (p1 >>> 16) + (p2 >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * One Philox4x32-10 block: 10 rounds of
 * (c0,c1,c2,c3) → (hi(M1·c2) ⊕ c1 ⊕ k0, lo(M1·c2), hi(M0·c0) ⊕ c3 ⊕ k1, lo(M0·c0)),
 * with the key bumped by the Weyl constants (W0, W1) between rounds.
 * Writes the four output words into `out` (uint32 values) and returns it.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  c0 >>>= 0;
  c1 >>>= 0;
  c2 >>>= 0;
  c3 >>>= 0;
  k0 >>>= 0;
  k1 >>>= 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

const TWO_POW_32 = 4294967296;
const TWO_PI = 2 * Math.PI;

/**
 * Standard-normal noise `z_j` of one image: N values in C-order, from Philox keyed by
 * (seed, index) with counter (block, j, 0, 0); uniforms u = (r + 0.5) / 2^32 (never 0 or 1);
 * Box–Muller on the pairs (r0, r1) and (r2, r3): z_a = sqrt(−2 ln u_a)·cos(2π u_b),
 * z_b = sqrt(−2 ln u_a)·sin(2π u_b), computed in float64 and stored as float32.
 *
 * `j` is 0 for the initial noise and i+1 for the consistency sampler's step-i noise.
 */
export function gaussianNoise(
  seed: number,
  index: number,
  j: number,
  n: number,
  out: Float32Array = new Float32Array(n),
): Float32Array {
  const words = new Uint32Array(4);
  const blocks = Math.ceil(n / 4);
  for (let b = 0; b < blocks; b++) {
    philox4x32(b, j, 0, 0, seed, index, words);
    const base = 4 * b;
    for (let pair = 0; pair < 2; pair++) {
      const ua = (words[2 * pair] + 0.5) / TWO_POW_32;
      const ub = (words[2 * pair + 1] + 0.5) / TWO_POW_32;
      const rho = Math.sqrt(-2 * Math.log(ua));
      const theta = TWO_PI * ub;
      const ia = base + 2 * pair;
      if (ia < n) out[ia] = rho * Math.cos(theta);
      if (ia + 1 < n) out[ia + 1] = rho * Math.sin(theta);
    }
  }
  return out;
}
