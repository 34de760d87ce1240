/**
 * Start-up on a CPU-only machine, as `npm start` runs it (the default providers cuda, webgpu, cpu):
 * nothing on stderr (no native Vulkan warning), every provider tried before CPU reported with a
 * whole message, and at the default log level one line per generate request.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { sharedLibraryPresent } from '../src/models/providers.js';
import { FIXTURES } from './helpers.js';

test(
  'a CPU-only start is quiet on stderr, reports why each better provider was not used, and logs generate requests at info',
  { timeout: 60_000 },
  async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        MODELS_DIR: FIXTURES,
        LOG_LEVEL: 'info',
        EXECUTION_PROVIDERS: '',
        INTRA_OP_THREADS: '1',
        ENGINE_WORKERS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const lines = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>);
    try {
      const t0 = Date.now();
      while (!lines().some((l) => l.msg === 'model loading finished')) {
        if (Date.now() - t0 > 45_000 || child.exitCode !== null) throw new Error(`no start: ${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /Server listening at (http:\/\/[\d.:]+)/.exec(
        lines()
          .map((l) => l.msg)
          .join('\n'),
      )![1];
      const res = await fetch(`${url}/v1/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ class: 1, seed: 5 }),
      });
      assert.equal(res.status, 200);
      const bad = await fetch(`${url}/v1/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ class: 1, steps: 0 }),
      });
      assert.equal(bad.status, 400);
      await new Promise((r) => setTimeout(r, 200));

      const ready = lines().filter((l) => l.msg === 'model ready');
      assert.equal(ready.length, 2);
      for (const r of ready) {
        assert.equal(r.provider, 'cpu');
        assert.deepEqual(
          r.attempts.map((a: { provider: string }) => a.provider),
          ['cuda', 'webgpu'],
          'the providers preferred to cpu, in order',
        );
        for (const a of r.attempts) assert.match(a.error, /[\w)]$/, `a whole message: ${a.error}`);
      }
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { models: Array<{ provider_attempts: Array<{ error: string }> }> };
      assert.deepEqual(models.models[0].provider_attempts, ready.find((r) => r.model === (models.models[0] as unknown as { name: string }).name)!.attempts);

      const generate = lines().filter((l) => l.msg === 'generate');
      assert.equal(generate.length, 2, 'one info line per generate request');
      assert.deepEqual(
        generate.map((l) => [l.level, l.status, l.images ?? l.error]),
        [
          [30, 200, 1],
          [30, 400, 'invalid_request'],
        ],
      );
      assert.ok(generate.every((l) => typeof l.reqId === 'string' && typeof l.ms === 'number'));
      if (!sharedLibraryPresent('libvulkan.so.1')) assert.equal(err, '', 'stderr is empty (no Vulkan warning from probing WebGPU)');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  },
);
