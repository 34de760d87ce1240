import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gaussianNoise, mulhi32, philox4x32 } from '../../src/sampler/philox.js';

const hex = (w: Uint32Array) => Array.from(w, (v) => v.toString(16).padStart(8, '0')).join(' ');

test('mulhi32 equals the exact BigInt product', () => {
  const cases = [
    [0, 0],
    [1, 1],
    [0xffffffff, 0xffffffff],
    [0xd2511f53, 0x243f6a88],
    [0xcd9e8d57, 0x13198a2e],
    [0x80000000, 2],
    [123456789, 987654321],
  ];
  for (let i = 0; i < 200; i++) cases.push([(Math.random() * 2 ** 32) >>> 0, (Math.random() * 2 ** 32) >>> 0]);
  for (const [a, b] of cases) {
    const want = Number((BigInt(a) * BigInt(b)) >> 32n);
    assert.equal(mulhi32(a, b), want, `${a} * ${b}`);
  }
});

test('Philox4x32-10 Random123 known answers', () => {
  assert.equal(hex(philox4x32(0, 0, 0, 0, 0, 0)), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  const f = 0xffffffff;
  assert.equal(hex(philox4x32(f, f, f, f, f, f)), '408f276d 41c83b0e a20bc7c6 6d5451fd');
  assert.equal(
    hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0)),
    'd16cfe09 94fdcceb 5001e420 24126ea1',
  );
});

test('gaussianNoise: deterministic, keyed, roughly standard normal, tail handled', () => {
  const a = gaussianNoise(42, 0, 0, 10_001);
  const b = gaussianNoise(42, 0, 0, 10_001);
  assert.deepEqual(a, b);
  const other = gaussianNoise(42, 1, 0, 16);
  assert.notDeepEqual(Array.from(a.subarray(0, 16)), Array.from(other));
  const step = gaussianNoise(42, 0, 1, 16);
  assert.notDeepEqual(Array.from(a.subarray(0, 16)), Array.from(step));
  // a prefix of a longer draw equals a shorter draw (blocks are independent)
  assert.deepEqual(Array.from(gaussianNoise(42, 0, 0, 7)), Array.from(a.subarray(0, 7)));
  let m = 0;
  let v = 0;
  for (const z of a) m += z;
  m /= a.length;
  for (const z of a) v += (z - m) ** 2;
  v /= a.length;
  assert.ok(Math.abs(m) < 0.05, `mean ${m}`);
  assert.ok(Math.abs(v - 1) < 0.05, `var ${v}`);
});

test('gaussianNoise matches the contract formula for block 0', () => {
  const w = philox4x32(0, 0, 0, 0, 7, 3);
  const u = (r: number) => (r + 0.5) / 2 ** 32;
  const rho = Math.sqrt(-2 * Math.log(u(w[0])));
  const z = gaussianNoise(7, 3, 0, 2);
  assert.equal(z[0], Math.fround(rho * Math.cos(2 * Math.PI * u(w[1]))));
  assert.equal(z[1], Math.fround(rho * Math.sin(2 * Math.PI * u(w[1]))));
});
