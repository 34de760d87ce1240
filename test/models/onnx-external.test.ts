/**
 * The reader of a graph's external-data references (src/models/onnx-external.ts) on graphs the
 * exporter wrote (the fixtures) and on graphs written here by test/tools/onnx-writer.ts: where
 * the data is, which tensors, in initializers and in a Constant node's attribute; a malformed
 * file is an OnnxFormatError, never a hang or a wrong answer.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { externalDataRefs, OnnxFormatError } from '../../src/models/onnx-external.js';
import { attrTensor, contractGraph, FLOAT, float32s, model, node, tensor, valueInfo } from '../tools/onnx-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'jfdl-onnx-ext-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('external-data references of exported graphs', () => {
  test('a self-contained graph has none', async () => {
    assert.equal((await externalDataRefs('test/fixtures/models/tiny-rgb8/cm.onnx')).locations.size, 0);
    assert.equal((await externalDataRefs('test/fixtures/float16/tiny-openai-fp16/cm.onnx')).locations.size, 0);
  });

  test('the external-data fixture keeps every weight in <graph>.data', async () => {
    const refs = (await externalDataRefs('test/fixtures/external/tiny-rgb8-ext/jfdl.onnx')).locations;
    assert.deepEqual([...refs.keys()], ['jfdl.onnx.data']);
    const names = refs.get('jfdl.onnx.data')!;
    assert.ok(names.length > 10, `${names.length} tensors`);
    assert.ok(names.every((n) => n.startsWith('net.')), names.join(', '));
  });
});

describe('external-data references of written graphs', () => {
  test('an initializer in a data file, found by location with its tensor name', async () => {
    contractGraph(tmp, 'a.onnx', [3, 8, 8], 16, 'weights.bin');
    assert.deepEqual([...(await externalDataRefs(join(tmp, 'a.onnx'))).locations], [['weights.bin', ['W']]]);
  });

  test('a tensor attribute of a Constant node is found too; paths are reported as written', async () => {
    const constant = tensor('c', FLOAT, [4], { location: '../outside.bin', offset: 0, length: 16 });
    const proto = model({
      nodes: [node('Constant', [], ['c'], [attrTensor('value', constant)]), node('Add', ['x', 'c'], ['y'])],
      initializers: [tensor('inline', FLOAT, [4], float32s([1, 2, 3, 4]))],
      inputs: [valueInfo('x', FLOAT, [4])],
      outputs: [valueInfo('y', FLOAT, [4])],
    });
    writeFileSync(join(tmp, 'b.onnx'), proto);
    assert.deepEqual([...(await externalDataRefs(join(tmp, 'b.onnx'))).locations], [['../outside.bin', ['c']]]);
  });

  test('truncated or foreign bytes are an OnnxFormatError', async () => {
    const whole = readFileSync('test/fixtures/models/tiny-rgb8/cm.onnx');
    writeFileSync(join(tmp, 'half.onnx'), whole.subarray(0, whole.length >> 1));
    await assert.rejects(externalDataRefs(join(tmp, 'half.onnx')), OnnxFormatError);
    writeFileSync(join(tmp, 'junk.onnx'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)));
    await assert.rejects(externalDataRefs(join(tmp, 'junk.onnx')), OnnxFormatError);
  });
});
