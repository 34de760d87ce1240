import assert from 'node:assert/strict';
import { test } from 'node:test';
import { providerErrorLine, providersToTry, sharedLibraryPresent } from '../../src/models/providers.js';

test('WebGPU is skipped, with a reason, on Linux without a Vulkan loader; tried where one exists or on other systems', () => {
  const none = providersToTry(['cuda', 'webgpu', 'cpu'], { platform: 'linux', vulkanLoader: () => false });
  assert.deepEqual(none.tryList, ['cuda', 'cpu']);
  assert.equal(none.skipped.length, 1);
  assert.equal(none.skipped[0].provider, 'webgpu');
  assert.match(none.skipped[0].error, /libvulkan\.so\.1/);
  assert.deepEqual(providersToTry(['cuda', 'webgpu', 'cpu'], { platform: 'linux', vulkanLoader: () => true }).tryList, ['cuda', 'webgpu', 'cpu']);
  assert.deepEqual(providersToTry(['webgpu', 'cpu'], { platform: 'darwin', vulkanLoader: () => false }).tryList, ['webgpu', 'cpu']);
  // configured alone, it is still tried, so its own error is what the model reports
  assert.deepEqual(providersToTry(['webgpu'], { platform: 'linux', vulkanLoader: () => false }), { tryList: ['webgpu'], skipped: [] });
});

test('the loader probe tells a present library from an absent one', () => {
  assert.equal(sharedLibraryPresent('libc.so.6'), true);
  assert.equal(sharedLibraryPresent('libjfdl-no-such-library.so.7'), false);
});

test("provider errors keep onnxruntime's whole first line; a very long one is cut at a word", () => {
  const ort =
    '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\nstack…';
  assert.ok(ort.split('\n')[0].length > 300, 'longer than the old 300-character cut');
  assert.match(providerErrorLine(ort), /Failed to get a WebGPU adapter: No supported adapters$/);
  const long = providerErrorLine(Array.from({ length: 400 }, (_, i) => `word${i}`).join(' '));
  assert.ok(long.length <= 1001 && long.endsWith('…'));
  assert.match(long, /word\d+…$/, 'cut between words');
});

test("a provider that fails reports onnxruntime's own message whole (not cut at 300 characters)", { timeout: 60_000 }, async (t) => {
  const ort = await import('onnxruntime-node');
  const { makeApp, TINY, tinyGuided } = await import('../helpers.js');
  const graph = `${TINY}/${tinyGuided().file}`;
  let own: string;
  try {
    const s = await ort.InferenceSession.create(graph, { executionProviders: ['webgpu'] });
    await s.release();
    return t.skip('WebGPU works on this machine: nothing fails to report');
  } catch (e) {
    own = (e as Error).message.split('\n')[0];
  }
  const app = await makeApp({ EXECUTION_PROVIDERS: 'webgpu' });
  try {
    const e = app.registry.get(tinyGuided().model)!;
    assert.equal(e.status, 'error');
    assert.ok(e.error!.includes(own), `the model's error holds onnxruntime's message whole:\n${e.error}\n${own}`);
  } finally {
    await app.close();
  }
});
