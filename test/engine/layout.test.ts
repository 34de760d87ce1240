import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BIG_GRAPH_BYTES, initialWorkers, isBigGraph, threadsPerSession, totalWorkers } from '../../src/engine/layout.js';
import { Engine } from '../../src/engine/index.js';

test('automatic layout on CPU: one single-threaded session per core', () => {
  const auto = { workers: 0, intraOpThreads: 0 };
  assert.equal(threadsPerSession(auto, 8), 1);
  assert.equal(initialWorkers(auto), 1);
  assert.equal(totalWorkers(auto, 8, 'cpu'), 8);
  assert.equal(totalWorkers(auto, 1, 'cpu'), 1);
});

test('automatic layout on a GPU provider: one session', () => {
  const auto = { workers: 0, intraOpThreads: 0 };
  assert.equal(totalWorkers(auto, 16, 'cuda'), 1);
  assert.equal(totalWorkers(auto, 16, 'webgpu'), 1);
});

test('explicit threads with automatic workers: cores shared out, at least one session', () => {
  assert.equal(totalWorkers({ workers: 0, intraOpThreads: 2 }, 8, 'cpu'), 4);
  assert.equal(totalWorkers({ workers: 0, intraOpThreads: 4 }, 2, 'cpu'), 1);
  assert.equal(threadsPerSession({ workers: 0, intraOpThreads: 3 }, 8), 3);
});

test('explicit workers: all start at once and share the cores unless threads are given', () => {
  assert.equal(initialWorkers({ workers: 3, intraOpThreads: 0 }), 3);
  assert.equal(totalWorkers({ workers: 3, intraOpThreads: 0 }, 8, 'cpu'), 3);
  assert.equal(totalWorkers({ workers: 3, intraOpThreads: 0 }, 8, 'cuda'), 3);
  assert.equal(threadsPerSession({ workers: 1, intraOpThreads: 0 }, 8), 8);
  assert.equal(threadsPerSession({ workers: 3, intraOpThreads: 0 }, 8), 2);
  assert.equal(threadsPerSession({ workers: 16, intraOpThreads: 0 }, 8), 1);
  assert.equal(threadsPerSession({ workers: 2, intraOpThreads: 5 }, 8), 5);
});

test('automatic layout for a big graph on CPU: one session over all cores', () => {
  const big = { workers: 0, intraOpThreads: 0, graphBytes: 1_184_558_019 }; // the full-size ImageNet-64 cm.onnx
  assert.equal(isBigGraph(big), true);
  assert.equal(threadsPerSession(big, 2), 2);
  assert.equal(threadsPerSession(big, 16), 16);
  assert.equal(initialWorkers(big), 1);
  assert.equal(totalWorkers(big, 2, 'cpu'), 1);
  assert.equal(totalWorkers(big, 16, 'cpu'), 1);
  assert.equal(totalWorkers(big, 16, 'cuda'), 1);
  // the threshold: just below it, per-core sessions as for a small graph
  assert.equal(totalWorkers({ workers: 0, intraOpThreads: 0, graphBytes: BIG_GRAPH_BYTES - 1 }, 8, 'cpu'), 8);
  assert.equal(totalWorkers({ workers: 0, intraOpThreads: 0, graphBytes: BIG_GRAPH_BYTES }, 8, 'cpu'), 1);
  assert.equal(totalWorkers({ workers: 0, intraOpThreads: 0, graphBytes: 7_400_000 }, 8, 'cpu'), 8); // digits16
});

test('a big graph with an explicit layout keeps it', () => {
  const bytes = 2 * BIG_GRAPH_BYTES;
  assert.equal(totalWorkers({ workers: 2, intraOpThreads: 0, graphBytes: bytes }, 2, 'cpu'), 2);
  assert.equal(threadsPerSession({ workers: 2, intraOpThreads: 0, graphBytes: bytes }, 2), 1);
  assert.equal(totalWorkers({ workers: 0, intraOpThreads: 1, graphBytes: bytes }, 2, 'cpu'), 2);
  assert.equal(threadsPerSession({ workers: 0, intraOpThreads: 1, graphBytes: bytes }, 2), 1);
});

const GRAPH = join('test', 'fixtures', 'models', 'tiny-rgb8', 'cm.onnx');

test('an engine with the automatic layout on 3 cores loads 3 CPU sessions, each of which runs', async () => {
  const engine = new Engine({ graphPath: GRAPH, providers: ['cpu'], intraOpThreads: 0, workers: 0, cores: 3 });
  try {
    const info = await engine.load();
    assert.equal(info.provider, 'cpu');
    assert.equal(info.workers, 3);
    assert.equal(info.intraOpThreads, 1);
    assert.equal(engine.workerCount, 3);
    const n = 3 * 8 * 8;
    const outs = await Promise.all(
      [0, 1, 2].map((w) => engine.run(w, 1, [3, 8, 8], { x: new Float32Array(n).fill(0.5), sigma: new Float32Array(1).fill(1), labels: new BigInt64Array(1), out: new Float32Array(n) })),
    );
    // the same input gives the same output on every session
    for (const o of outs) assert.deepEqual(o.out, outs[0].out);
  } finally {
    await engine.close();
  }
});
