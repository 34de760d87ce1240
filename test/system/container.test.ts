/**
 * `npm run test:container`: the Dockerfile's cpu target built with podman, tagged
 * localhost/jfdl-serve:cpu, and run — checked against the running container: non-root, read-only
 * root filesystem, the image's HEALTHCHECK passing, /readyz 200 and a PNG from POST
 * /v1/generate/image, and `podman stop` (SIGTERM to PID 1) draining the requests in flight with none
 * lost and exit 0 within the drain time. Prints (and writes to test-output/container.json) the
 * image size and the cold start.
 *
 * Needs podman, runc and debootstrap, as root (.ci/run installs them); where registry images
 * cannot be pulled the base is made locally (scripts/container/base-image.sh, cached).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { buildImage, exec, freePort, IMAGE, inspect, inspectImage, logs, podman, removeSuite, runContainer, stopContainer, unavailable, type Build } from '../../scripts/container/podman.js';
import { metricSum, request, waitStatus } from './http.js';

const SUITE = 'container';
const NAME = `jfdl-test-container-${process.pid}`;
const DRAIN_MS = 20_000;
const manifest = JSON.parse(readFileSync('models/digits16/model.json', 'utf8')) as { image: { channels: number; height: number; width: number } };

const skip = unavailable();
if (skip && process.env.CI) throw new Error(`test:container cannot run: ${skip}`);

describe('the cpu image, built and run with podman', { skip: skip ?? false, timeout: 20 * 60_000 }, () => {
  let build: Build;
  let port = 0;
  const figures: Record<string, unknown> = {};

  before(async () => {
    await removeSuite(SUITE); // what a run that died half-way left behind
    build = await buildImage('cpu');
    port = await freePort();
  });

  after(async () => {
    await removeSuite(SUITE);
    mkdirSync('test-output', { recursive: true });
    writeFileSync('test-output/container.json', JSON.stringify({ date: new Date().toISOString(), ...figures }, null, 2) + '\n');
  });

  test('the image: tagged, non-root user, HEALTHCHECK on /healthz, node as PID 1; its size', async (t) => {
    const img = await inspectImage(IMAGE);
    assert.ok(img.RepoTags.includes(IMAGE), `tagged ${IMAGE}`);
    assert.equal(img.Config.User, '10001:10001', 'a numeric non-root user');
    assert.deepEqual(img.Config.Cmd, ['node', 'dist/server.js']);
    assert.equal(img.Config.StopSignal, 'SIGTERM');
    assert.ok(JSON.stringify(img.Healthcheck?.Test ?? []).includes('/healthz'), 'HEALTHCHECK kept (podman build --format docker)');
    figures.image = IMAGE;
    figures.base_image = build.base;
    figures.image_size_mb = Math.round(img.Size / 1e5) / 10;
    figures.base_image_s = build.baseMs / 1000;
    figures.build_s = build.buildMs / 1000;
    figures.build_steps_cached = `${build.cachedSteps}/${build.steps}`;
    t.diagnostic(`image ${IMAGE}: ${figures.image_size_mb} MB (uncompressed); base ${build.base} ready in ${figures.base_image_s} s; build ${figures.build_s} s with ${figures.build_steps_cached} steps from cache`);
  });

  test('cold start: podman run to /readyz 200; non-root, read-only root filesystem, no capabilities; production dependencies only', async (t) => {
    const t0 = Date.now();
    await runContainer({ name: NAME, port, suite: SUITE, env: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), LOG_LEVEL: 'info' } });
    await waitStatus(port, '/healthz', 200, 60_000, 20);
    const tListen = Date.now() - t0;
    await waitStatus(port, '/readyz', 200, 120_000, 20).catch(async (e: Error) => assert.fail(`${e.message}\n${(await logs(NAME)).slice(-3000)}`));
    const tReady = Date.now() - t0;
    figures.cold_start_listening_s = tListen / 1000;
    figures.cold_start_ready_s = tReady / 1000;
    t.diagnostic(`cold start: listening (/healthz 200) ${tListen / 1000} s, ready (/readyz 200, models loaded and warmed) ${tReady / 1000} s after podman run`);

    const c = await inspect(NAME);
    assert.equal(c.HostConfig.ReadonlyRootfs, true);
    // PID 1's credentials, read from the host: the image's user, no capabilities, no setuid gains
    const status = readFileSync(`/proc/${c.State.Pid}/status`, 'utf8');
    const field = (k: string) => /^(\S+):\s+(.*)$/m.exec(status.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '')?.[2] ?? '';
    assert.deepEqual(field('Uid').split(/\s+/), ['10001', '10001', '10001', '10001'], 'real, effective, saved and fs uid');
    assert.deepEqual(field('Gid').split(/\s+/), ['10001', '10001', '10001', '10001']);
    assert.equal(field('CapEff'), '0000000000000000');
    assert.equal(field('NoNewPrivs'), '1');
    // writes: refused on the root filesystem (also where the user owns nothing), allowed on /tmp
    const probe = (p: string) => `try{require('fs').writeFileSync(${JSON.stringify(p)},'x');console.log('written')}catch(e){console.log(e.code)}`;
    assert.equal((await exec(NAME, ['node', '-e', probe('/app/dist/x.js')])).stdout.trim(), 'EROFS');
    assert.equal((await exec(NAME, ['node', '-e', probe('/etc/x')])).stdout.trim(), 'EROFS');
    assert.equal((await exec(NAME, ['node', '-e', probe('/tmp/x')])).stdout.trim(), 'written');
    // production dependencies only: every runtime dependency, no package the lock file marks
    // dev-only (typescript, tsx, test tools), and onnxruntime's native libraries for this platform only
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([p, v]) => v.dev && p.startsWith('node_modules/')).map(([p]) => p);
    assert.ok(devOnly.includes('node_modules/typescript') && devOnly.includes('node_modules/tsx'));
    const listing = await exec(NAME, ['node', '-e', `
      const fs = require('fs'), [dev, deps] = JSON.parse(process.argv[1]);
      const ort = 'node_modules/onnxruntime-node/bin/napi-v6';
      console.log(JSON.stringify({
        dev: dev.filter((p) => fs.existsSync(p)),
        missing: deps.filter((d) => !fs.existsSync('node_modules/' + d)),
        ort: fs.readdirSync(ort).flatMap((os) => fs.readdirSync(ort + '/' + os).map((a) => os + '/' + a)),
      }));`, JSON.stringify([devOnly, Object.keys(pkg.dependencies)])]);
    const found = JSON.parse(listing.stdout) as { dev: string[]; missing: string[]; ort: string[] };
    assert.deepEqual(found.dev, [], 'no dev-only package in the image');
    assert.deepEqual(found.missing, [], 'every runtime dependency in the image');
    assert.deepEqual(found.ort, ['linux/x64'], "onnxruntime's libraries for this platform only");
    // the Kubernetes manifests' preStop hook runs `sleep` in this image
    const preStop = await exec(NAME, ['sleep', '0']);
    assert.equal(preStop.code, 0, `sleep in the image: ${preStop.stderr}`);
  });

  test('the HEALTHCHECK command passes against the running container', async () => {
    const r = await podman(['--runtime', process.env.PODMAN_RUNTIME ?? 'runc', 'healthcheck', 'run', NAME], 30_000);
    assert.equal(r.code, 0, `podman healthcheck run: ${r.stdout}${r.stderr}`);
    assert.equal((await inspect(NAME)).State.Health?.Status, 'healthy');
  });

  test('POST /v1/generate/image returns a PNG of the model\'s size', async () => {
    const r = await request(port, '/v1/generate/image', { body: { model: 'digits16', class: 3, guidance: 1.5, steps: 2, seed: 42 }, headers: { accept: 'image/png' } });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['content-type'], 'image/png');
    assert.equal(r.headers['x-seed'], '42');
    const meta = await sharp(r.body).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, manifest.image.width);
    assert.equal(meta.height, manifest.image.height);
  });

  test('podman stop: every request in flight is answered, new ones get 503, exit 0 within the drain time', async (t) => {
    const K = 12;
    const IMAGES = 16;
    const body = { model: 'digits16', class: 7, guidance: 2, steps: 8, num_images: IMAGES, seed: 1 };
    const before = await request(port, '/metrics');
    const done0 = metricSum(before.body.toString(), 'jfdl_images_generated_total');
    const inflight = Array.from({ length: K }, (_, i) => request(port, '/v1/generate', { body: { ...body, seed: 1 + i } }));
    // every one admitted (its images queued, or already done) before the signal
    const t0 = Date.now();
    for (;;) {
      const m = (await request(port, '/metrics')).body.toString();
      if (metricSum(m, 'jfdl_queue_depth') + metricSum(m, 'jfdl_images_generated_total') - done0 >= K * IMAGES) break;
      assert.ok(Date.now() - t0 < 30_000, 'requests admitted');
      await new Promise((r) => setTimeout(r, 10));
    }
    const stopping = stopContainer(NAME, DRAIN_MS / 1000 + 10);
    // the signal lands: readiness 503 while the listener is still open (and liveness still 200)
    await waitStatus(port, '/readyz', 503, 10_000, 10);
    const refused = await request(port, '/v1/generate', { body: { ...body, num_images: 1 } });
    const health = await request(port, '/healthz');
    const answers = await Promise.all(inflight);
    const stop = await stopping;

    assert.equal(refused.status, 503, 'a request after SIGTERM: refused while draining');
    assert.equal(JSON.parse(refused.body.toString()).error, 'shutting_down');
    assert.equal(health.status, 200, 'liveness stays 200 while draining');
    for (const a of answers) {
      assert.equal(a.status, 200, `in-flight request: ${a.status || a.error} ${a.body.toString().slice(0, 200)}`);
      assert.equal((JSON.parse(a.body.toString()) as { images: unknown[] }).images.length, IMAGES);
    }
    assert.equal(stop.exitCode, 0, `exit code (137 = killed at the grace period):\n${(await logs(NAME)).slice(-2000)}`);
    assert.ok(stop.ms < DRAIN_MS, `stopped in ${stop.ms} ms, within SHUTDOWN_DRAIN_MS ${DRAIN_MS}`);
    // the service's own account: all K were in flight at the signal, and all finished
    const log = await logs(NAME);
    const atSignal = /"inFlight":(\d+)[^\n]*shutting down: draining/.exec(log);
    assert.ok(atSignal && Number(atSignal[1]) >= K, `in flight at SIGTERM: ${atSignal?.[1]}`);
    assert.match(log, /drained: every accepted request answered/);
    figures.drain = { in_flight_at_sigterm: Number(atSignal![1]), answered_200: answers.length, stop_s: stop.ms / 1000, exit_code: stop.exitCode };
    t.diagnostic(`podman stop: ${atSignal![1]} requests in flight at SIGTERM, ${answers.length} × 200, exit ${stop.exitCode} after ${stop.ms / 1000} s`);
  });
});
