/**
 * The Dockerfile, checked as text (no container engine needed): its structure (stages, the base
 * image as a build argument, non-root user, HEALTHCHECK, entry), every COPY source present in the
 * build context after .dockerignore, the runtime stages free of dev dependencies — and its own
 * install and build commands run in a clean copy of the build context, whose production install
 * then starts the built server. `npm run test:container` (test/system/) builds and runs the image.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FIXTURES, sleep } from '../helpers.js';

interface Instr {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  base: string;
  instrs: Instr[];
}

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    if (/^\s*(#|$)/.test(l)) continue;
    while (/\\\s*$/.test(l) && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i])) continue;
      l = l.replace(/\\\s*$/, ' ') + lines[i].trim();
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(l);
    assert.ok(m, `line ${start + 1}: ${l}`);
    const op = m![1].toUpperCase();
    const args = m![2].trim();
    if (op === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(f, `FROM at line ${start + 1}`);
      stages.push({ name: f![2] ?? String(stages.length), base: f![1], instrs: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      continue; // global build args
    } else {
      assert.ok(stages.length, `${op} before FROM`);
      stages.at(-1)!.instrs.push({ op, args, line: start + 1 });
    }
  }
  return stages;
}

/** RUN → the command alone, without BuildKit's flags (--mount=…, --network=…). */
function runCommand(args: string): string {
  return args.replace(/^(--\S+\s+)+/, '');
}

/** COPY/ADD → flags, sources, destination (shell or JSON form). */
function copyParts(args: string): { flags: Record<string, string>; srcs: string[]; dest: string } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const [k, v] = words.shift()!.slice(2).split('=');
    flags[k] = v ?? '';
  }
  return { flags, srcs: words.slice(0, -1), dest: words.at(-1)! };
}

/** .dockerignore → predicate on a context-relative path (the subset of the syntax this repo uses). */
function dockerignore(text: string): (p: string) => boolean {
  const res = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((pat) => {
      assert.ok(!pat.startsWith('!'), 'exceptions are not used');
      const re = pat
        .replace(/[.+^${}()|[\]]/g, '\\$&')
        .replace(/\*\*\//g, '(?:.*/)?')
        .replace(/(?<!\.)\*/g, '[^/]*')
        .replace(/\?/g, '[^/]');
      return new RegExp(`^${re}(?:/.*)?$`);
    });
  return (p) => res.some((r) => r.test(p));
}

function expandArgs(s: string, text: string): string {
  // global ARG defaults (ARG NAME=value before the first FROM)
  const args = Object.fromEntries([...text.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  return s.replace(/\$\{(\w+)\}/g, (_, k) => args[k] ?? '');
}

/** COPY semantics: a destination ending in / is a folder the source goes into, else the target path. */
function copyInto(src: string, workdir: string, dest: string) {
  const to = dest.endsWith('/') ? join(workdir, dest, src.split('/').at(-1)!) : join(workdir, dest);
  mkdirSync(join(to, '..'), { recursive: true });
  cpSync(src, to, { recursive: true });
}

const ROOT = process.cwd();
const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(text);
const stage = (name: string) => {
  const s = stages.find((x) => x.name === name);
  assert.ok(s, `stage ${name}`);
  return s!;
};
const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const envOf = (s: Stage): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const i of s.instrs.filter((x) => x.op === 'ENV')) for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) env[m[1]] = m[2];
  return env;
};
/** the stage a stage builds on, following FROM <stage> */
const chain = (s: Stage): Stage[] => {
  const parent = stages.find((x) => x.name === s.base);
  return parent ? [...chain(parent), s] : [s];
};

describe('Dockerfile', () => {
  test('stages: build, production-only dependency stages, and the cuda and cpu targets (cpu the default)', () => {
    for (const n of ['node', 'build', 'deps-cpu', 'deps-cuda', 'app', 'cuda', 'cpu']) stage(n);
    assert.equal(stages.at(-1)!.name, 'cpu', 'a plain docker build gets the CPU image');
    assert.match(expandArgs(stage('cuda').base, text), /^nvidia\/cuda:12\.\d+(\.\d+)?-cudnn-runtime-/, 'CUDA 12 + cuDNN runtime base (cuDNN 9 on CUDA ≥ 12.3 images)');
    // the Node base is a build argument: the registry's slim image by default, a local one where
    // registries cannot be reached (scripts/container/base-image.sh)
    assert.equal(stage('node').base, '${NODE_IMAGE}');
    assert.match(expandArgs(stage('node').base, text), /^node:20-\w+-slim$/);
    for (const n of ['build', 'deps-cpu', 'deps-cuda', 'cpu']) assert.equal(stage(n).base, 'node', `${n} builds on the node stage`);
    assert.equal(envOf(stage('deps-cuda')).ONNXRUNTIME_NODE_INSTALL, 'cuda12');
    assert.equal(envOf(stage('deps-cpu')).ONNXRUNTIME_NODE_INSTALL, 'skip');
    assert.equal(envOf(stage('cuda')).EXECUTION_PROVIDERS, 'cuda,cpu');
    assert.equal(envOf(stage('cpu')).EXECUTION_PROVIDERS, 'cpu');
  });

  test('runtime targets: non-root, HEALTHCHECK on /healthz, port, SIGTERM, entry = what the build produces', () => {
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')).compilerOptions;
    for (const name of ['cuda', 'cpu']) {
      const s = stage(name);
      const user = s.instrs.filter((i) => i.op === 'USER').at(-1);
      assert.ok(user && !/^(root|0)(:|$)/.test(user.args), `${name}: USER is not root`);
      const hc = s.instrs.find((i) => i.op === 'HEALTHCHECK');
      assert.ok(hc && hc.args.includes('/healthz'), `${name}: HEALTHCHECK on /healthz`);
      assert.ok(s.instrs.some((i) => i.op === 'EXPOSE' && i.args === String(8080)));
      assert.equal(envOf(s).PORT, '8080');
      assert.ok(s.instrs.some((i) => i.op === 'STOPSIGNAL' && i.args === 'SIGTERM'));
      const cmd = JSON.parse(s.instrs.filter((i) => i.op === 'CMD').at(-1)!.args) as string[];
      assert.equal(cmd[0], 'node', 'exec form: node is PID 1 and receives SIGTERM itself');
      // dist/server.js ← <rootDir>/server.ts compiled to <outDir>
      const entry = cmd[1];
      assert.equal(entry, `${tsconfig.outDir}/server.js`);
      assert.ok(existsSync(join(ROOT, tsconfig.rootDir, 'server.ts')));
      assert.ok(s.instrs.some((i) => i.op === 'WORKDIR' && i.args === '/app'));
      const copies = s.instrs.filter((i) => i.op === 'COPY').map((i) => copyParts(i.args));
      assert.ok(copies.some((c) => c.flags.from === 'app' && c.srcs[0] === '/app' && c.dest === './'), `${name}: the application files from the app stage`);
    }
    // the app stage: dist/ from the build stage, and models/ (what both targets carry)
    const app = stage('app').instrs.filter((i) => i.op === 'COPY').map((i) => copyParts(i.args));
    const dist = app.find((c) => c.flags.from === 'build');
    assert.ok(dist && dist.srcs[0] === `/app/${tsconfig.outDir}` && dist.dest === `/app/${tsconfig.outDir}`, 'dist/ from the build stage');
    assert.ok(app.some((c) => !c.flags.from && c.srcs[0] === 'models'), 'models copied in');
  });

  test('the two targets share their application files: one COPY from app and one from their deps stage each, nothing else', () => {
    for (const [name, deps] of [['cuda', 'deps-cuda'], ['cpu', 'deps-cpu']]) {
      const copies = stage(name).instrs.filter((i) => i.op === 'COPY').map((i) => copyParts(i.args));
      const fromApp = copies.filter((c) => c.flags.from === 'app');
      const fromDeps = copies.filter((c) => c.flags.from === deps);
      const others = copies.filter((c) => c.flags.from !== 'app' && c.flags.from !== deps && !(name === 'cuda' && c.flags.from === 'node'));
      assert.equal(fromApp.length, 1, name);
      assert.equal(fromDeps.length, 1, name);
      assert.deepEqual(others, [], `${name}: no COPY of its own from the build context`);
    }
    // the CUDA image gets node from the same Node base as the CPU image
    const node = stage('cuda').instrs.map((i) => i.op === 'COPY' && copyParts(i.args)).find((c) => c && c.flags.from === 'node');
    assert.ok(node && node.srcs[0] === '/usr/local/bin/node');
  });

  test('runtime targets carry production dependencies only', () => {
    for (const [name, deps] of [['cuda', 'deps-cuda'], ['cpu', 'deps-cpu']]) {
      const s = stage(name);
      const copies = s.instrs.filter((i) => i.op === 'COPY').map((i) => copyParts(i.args));
      const nm = copies.filter((c) => c.srcs.some((x) => x.includes('node_modules')));
      assert.deepEqual(nm.map((c) => c.flags.from), [deps], `${name}: node_modules only from ${deps}`);
      const runs = chain(stage(deps)).flatMap((x) => x.instrs.filter((i) => i.op === 'RUN').map((i) => runCommand(i.args)));
      assert.ok(runs.some((r) => /npm ci\b.*--omit=dev/.test(r)), `${deps}: npm ci --omit=dev`);
      assert.ok(!runs.some((r) => /npm (ci|install)\b/.test(r) && !/--omit=dev/.test(r)), `${deps}: no full install`);
      assert.ok(!s.instrs.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args)), `${name}: installs nothing itself`);
    }
  });

  test('every COPY source exists in the build context and is not excluded by .dockerignore', () => {
    let n = 0;
    for (const s of stages) {
      for (const i of s.instrs.filter((x) => x.op === 'COPY' || x.op === 'ADD')) {
        const c = copyParts(i.args);
        if (c.flags.from) {
          assert.ok(stages.some((x) => x.name === c.flags.from), `line ${i.line}: --from=${c.flags.from} is a stage`);
          continue;
        }
        for (const src of c.srcs) {
          n++;
          assert.ok(existsSync(join(ROOT, src)), `line ${i.line}: ${src} exists`);
          assert.ok(!ignored(src), `line ${i.line}: ${src} is not in .dockerignore`);
        }
      }
    }
    assert.ok(n >= 8);
    // and the context stays small: what docker would send
    for (const big of ['node_modules', 'dist', '.git', 'runs', 'training', 'test']) assert.ok(ignored(big), `${big} excluded`);
  });

  // Where podman runs, `npm run test:container` builds and runs the image for real and checks the
  // same (production dependencies only, the server starting); .ci/run, which runs it, skips this
  // stand-in to keep CI within its time budget. (The full install of the build stage includes the
  // dev tools: tsc, and the linters, client generators and Prism the tests use.)
  const real = process.env.SKIP_DOCKERFILE_EMULATION === '1' ? 'SKIP_DOCKERFILE_EMULATION=1: the image is built and run by npm run test:container' : false;
  test('the install and build commands succeed in a clean copy of the context; the production install starts the server', { timeout: 480_000, skip: real }, async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'jfdl-docker-'));
    try {
      // the build context after .dockerignore
      const ctx = join(tmp, 'context');
      cpSync(ROOT, ctx, { recursive: true, filter: (src) => src === ROOT || !ignored(relative(ROOT, src)) });
      const run = (s: Stage, workdir: string) => {
        const env = { ...process.env, ...envOf(s), npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
        for (const i of s.instrs) {
          if (i.op === 'COPY' && !copyParts(i.args).flags.from) {
            const c = copyParts(i.args);
            for (const src of c.srcs) copyInto(join(ctx, src), workdir, c.dest);
          }
          if (i.op === 'RUN') {
            try {
              execSync(runCommand(i.args), { cwd: workdir, env, stdio: ['ignore', 'pipe', 'pipe'] });
            } catch (e) {
              const x = e as { stdout?: Buffer; stderr?: Buffer };
              assert.fail(`RUN ${i.args} (line ${i.line}) failed:\n${x.stdout?.toString().slice(-3000)}\n${x.stderr?.toString().slice(-3000)}`);
            }
          }
        }
      };
      const build = join(tmp, 'build');
      mkdirSync(build);
      run(stage('build'), build);
      assert.ok(existsSync(join(build, 'dist/server.js')), 'npm run build produced dist/server.js');

      const app = join(tmp, 'app');
      mkdirSync(app);
      run(stage('deps-cpu'), app);
      const pkg = JSON.parse(readFileSync(join(ctx, 'package.json'), 'utf8'));
      // packages the lock file marks dev-only (a dev dependency that a runtime one also needs, such as yaml, is not)
      const lock = JSON.parse(readFileSync(join(ctx, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
      const devOnly = Object.entries(lock.packages).filter(([p, v]) => v.dev && p.startsWith('node_modules/')).map(([p]) => p);
      assert.ok(devOnly.includes('node_modules/typescript') && devOnly.includes('node_modules/tsx'));
      for (const p of devOnly) assert.ok(!existsSync(join(app, p)), `dev-only ${p} not installed`);
      for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(app, 'node_modules', dep)), `${dep} installed`);
      // onnxruntime's native libraries: only this platform's are left
      const ortBin = join(app, 'node_modules/onnxruntime-node/bin/napi-v6');
      assert.deepEqual(readdirSync(ortBin), ['linux']);
      assert.deepEqual(readdirSync(join(ortBin, 'linux')), [process.arch]);
      // assemble the cpu target as its app stage's COPY lines do (into /app), then run its CMD
      for (const i of stage('app').instrs.filter((x) => x.op === 'COPY')) {
        const c = copyParts(i.args);
        const dest = c.dest.replace(/^\/app\/?/, './');
        if (c.flags.from === 'build') copyInto(join(build, c.srcs[0].replace('/app/', '')), app, dest);
        else if (!c.flags.from) for (const src of c.srcs) if (src !== 'models') copyInto(join(ctx, src), app, dest);
      }
      assert.ok(statSync(join(app, 'dist/server.js')).isFile());
      const cmd = JSON.parse(stage('cpu').instrs.filter((i) => i.op === 'CMD').at(-1)!.args) as string[];
      const child = spawn(process.execPath, cmd.slice(1), {
        cwd: app,
        env: { ...process.env, ...envOf(stage('cpu')), MODELS_DIR: join(ROOT, FIXTURES), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', INTRA_OP_THREADS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      try {
        const t0 = Date.now();
        let status = 0;
        while (status !== 200 && Date.now() - t0 < 30_000 && child.exitCode === null) {
          const port = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
          if (port)
            status = await new Promise<number>((r) => http.get({ host: '127.0.0.1', port: Number(port), path: '/readyz' }, (res) => (res.resume(), r(res.statusCode ?? 0))).on('error', () => r(0)));
          if (status !== 200) await sleep(100);
        }
        assert.equal(status, 200, `the production install serves: ${out.slice(-1500)}`);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      assert.ok(readdirSync(join(app, 'node_modules')).length > 10);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
