/**
 * `npm run reliability`: the longer versions of the reliability suite, one service process per
 * phase, and one summary table. Sizes from the command line or the environment:
 *
 *   --fuzz N        RELIABILITY_FUZZ        hostile inputs (default 10000)
 *   --overload-s S  RELIABILITY_OVERLOAD_S  seconds at 4× measured capacity (default 30)
 *   --aborts N      RELIABILITY_ABORTS      clients that disconnect in the storm (default 1000)
 *   --soak-s S      RELIABILITY_SOAK_S      soak duration (default 600; 0 skips it)
 *   --seed N        RELIABILITY_SEED        fast-check / storm seed (default 6)
 *   --json FILE     also write every figure as JSON
 *
 * Exit status 1 when any requirement in the table fails.
 */
import { writeFileSync } from 'node:fs';
import { runFuzz, fixtureModels } from './fuzz.js';
import { runOverload } from './overload.js';
import { runStorm } from './storm.js';
import { runStartupFaults, runWorkerDeath } from './faults.js';
import { runSoak } from './soak.js';
import { startTarget, type Target } from './harness.js';

const argv = process.argv.slice(2);
function opt(flag: string, env: string, dflt: number): number {
  const i = argv.indexOf(flag);
  const v = i >= 0 ? argv[i + 1] : process.env[env];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} / ${env}: expected a number ≥ 0, got ${JSON.stringify(v)}`);
  return n;
}
const FUZZ = opt('--fuzz', 'RELIABILITY_FUZZ', 10_000);
const OVERLOAD_S = opt('--overload-s', 'RELIABILITY_OVERLOAD_S', 30);
const ABORTS = opt('--aborts', 'RELIABILITY_ABORTS', 1000);
const SOAK_S = opt('--soak-s', 'RELIABILITY_SOAK_S', 600);
const SEED = opt('--seed', 'RELIABILITY_SEED', 6);
const jsonAt = argv.indexOf('--json');
const JSON_OUT = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;

const QUEUE_LIMIT = 256;
const DEADLINE_MS = 30_000;
const models = fixtureModels();

type Row = { phase: string; what: string; value: string; need: string; ok: boolean | null };
const rows: Row[] = [];
const row = (phase: string, what: string, value: string, need: string, ok: boolean | null) => rows.push({ phase, what, value, need, ok });
const log = (s: string) => process.stderr.write(`[reliability] ${s}\n`);
let crashes = 0;

async function withTarget<T>(env: Record<string, string>, f: (t: Target) => Promise<T>): Promise<T> {
  const t = await startTarget(env);
  try {
    return await f(t);
  } finally {
    crashes += t.crashes();
    await t.stop();
  }
}

const all: Record<string, unknown> = { options: { FUZZ, OVERLOAD_S, ABORTS, SOAK_S, SEED, QUEUE_LIMIT, DEADLINE_MS } };
const t0 = Date.now();

log(`hostile inputs: ${FUZZ}`);
const fuzz = await withTarget({}, (t) => runFuzz(t, models, { n: FUZZ, seed: SEED }));
all.fuzz = fuzz;
row('hostile input', 'inputs tried', `${fuzz.inputs} (${fuzz.kinds} kinds; ${Object.entries(fuzz.statuses).map(([s, n]) => `${s}×${n}`).join(' ')})`, FUZZ >= 10_000 ? '≥ 10,000' : `≥ ${FUZZ} (shortened; acceptance needs 10,000)`, fuzz.inputs >= FUZZ);
row('hostile input', '5xx seen', String(fuzz.fiveXX), '0', fuzz.fiveXX === 0);
row('hostile input', 'other bad answers (non-JSON 4xx, stack, none)', String(fuzz.failureCount - fuzz.fiveXX), '0', fuzz.failureCount === 0);
row('hostile input', 'memory after (GC’d heap, RSS)', `heap ${fuzz.baselineHeapMB}→${fuzz.afterHeapMB} MB (${sign(fuzz.heapGrowthMB)}), RSS ${fuzz.baselineRssMB}→${fuzz.afterRssMB} MB (${sign(fuzz.rssGrowthMB)})`, 'heap ≤ +16, RSS ≤ +64 MB', fuzz.heapGrowthMB <= 16 && fuzz.rssGrowthMB <= 64);
for (const f of fuzz.failures.slice(0, 3)) log(`bad answer: ${f.problem}\n    ${f.case}`);

log(`overload: ${OVERLOAD_S} s at 4× capacity`);
const ov = await withTarget({ QUEUE_LIMIT: String(QUEUE_LIMIT), REQUEST_DEADLINE_MS: String(DEADLINE_MS) }, (t) =>
  runOverload(t, { model: models.guided, capacityS: 5, durationS: OVERLOAD_S, factor: 4, queueLimit: QUEUE_LIMIT, deadlineMs: DEADLINE_MS }),
);
all.overload = ov;
row('overload', 'capacity → offered', `${ov.capacityRps} req/s (4 images, 4 steps) → ${ov.offeredRps} req/s for ${OVERLOAD_S} s (${ov.sent} sent)`, '4× capacity', ov.offeredRps >= 3.8 * ov.capacityRps);
row('overload', 'excess answered 503 + Retry-After', `${ov.rejectedWithRetryAfter} / ${ov.rejected503}`, 'all 503s', ov.rejected503 > 0 && ov.rejectedWithRetryAfter === ov.rejected503);
row('overload', '503 latency: service p99 / client p50', `${ov.serverP99RejectMs} ms / ${ov.p50RejectMs} ms`, 'service p99 ≤ 50 ms', ov.serverP99RejectMs <= 50);
row('overload', 'accepted: ok / 504 / other / conn. errors', `${ov.ok} / ${ov.deadline504} / ${Object.values(ov.otherStatus).reduce((a, b) => a + b, 0)} / ${ov.clientErrors}`, '0 504, 0 other, 0 errors', ov.ok > 0 && ov.deadline504 === 0 && !Object.keys(ov.otherStatus).length && ov.clientErrors === 0);
row('overload', 'p99 during overload (accepted)', `${ov.p99OkMs} ms (p50 ${ov.p50OkMs}, max ${ov.maxOkMs})`, `max < deadline ${DEADLINE_MS} ms`, ov.maxOkMs < DEADLINE_MS);
row('overload', 'queue depth max', `${ov.maxQueueDepth} (limit ${QUEUE_LIMIT})`, '≤ limit', ov.maxQueueDepth <= QUEUE_LIMIT);
row('overload', 'memory growth (RSS)', `${ov.baselineRssMB} → max ${ov.maxRssMB} MB (${sign(ov.rssGrowthMB)})`, '≤ +256 MB', ov.rssGrowthMB <= 256);
row('overload', 'latency after the burst (p50)', `${ov.afterP50Ms} ms (idle before: ${ov.idleP50Ms} ms; drained in ${ov.drainedMs} ms)`, '≤ 2× idle + 10 ms', ov.afterP50Ms <= 2 * ov.idleP50Ms + 10 && ov.leakedLanes === 0);

log(`disconnect storm: ${ABORTS} aborts`);
const st = await withTarget({}, (t) =>
  runStorm(t, { aborts: ABORTS, controls: Math.max(50, Math.round(ABORTS / 10)), concurrency: 48, models: { guided: models.guided, plain: models.plain, classes: models.classes.length }, goldenFile: 'test/golden/tiny-rgb8.json', seed: SEED }),
);
all.storm = st;
const elsewhere = st.aborted - st.serverDroppedInScheduler - st.serverAbortedUploads;
row('disconnects', 'aborted requests', `${st.aborted} (mid-upload ${st.serverAbortedUploads}, queued/mid-batch ${st.serverDroppedInScheduler}, routing/encoding/sending ${elsewhere})`, `≥ ${ABORTS}`, st.aborted >= ABORTS);
row('disconnects', 'leaked lanes', `${st.leakedLanes} (queue ${st.leakedQueue}, calls in flight ${st.callsInFlightAfter}, drained in ${st.drainMs} ms)`, '0', st.leakedLanes === 0 && st.leakedQueue === 0 && st.callsInFlightAfter === 0);
row('disconnects', 'unhandled errors (5xx)', String(st.server5xx + st.internalErrors), '0', st.server5xx === 0 && st.internalErrors === 0);
row('disconnects', 'connected requests: ok, correct images', `${st.controlsOk}/${st.controls} ok; ${st.exactImages}/${st.controlImages} identical to undisturbed; golden ${st.goldenWithinOne}/${st.goldenChecked} within ±1`, 'all', st.controlsOk === st.controls && st.exactImages === st.controlImages && st.goldenWithinOne === st.goldenChecked);

log('faults: broken model folders');
const sf = await runStartupFaults();
crashes += sf.crashes;
all.startupFaults = sf;
const clear = sf.faults.filter((f) => f.logged && f.listed && f.refused && f.inReadyz);
row('faults', 'broken model folders reported', `${clear.length}/${sf.faults.length} (${sf.faults.map((f) => f.name.replace('fault-', '')).join(', ')}) in log, /v1/models, 503, /readyz`, 'all', clear.length === sf.faults.length);
row('faults', 'healthy model serves; /readyz', `${sf.healthyServes ? 'yes' : 'NO'}; ${sf.readyzStatus} listing ${sf.faults.length} failed`, 'yes; 200 + list', sf.healthyServes && sf.readyzStatus === 200);
log('faults: engine worker deaths');
const wd = await runWorkerDeath();
crashes += wd.crashes;
all.workerDeath = wd;
row('faults', 'worker killed under load', `${wd.inFlight} in flight: ${wd.ok} ok, ${wd.unavailable503} 503+Retry-After, ${wd.other.length} other; all settled ${wd.settleMs} ms after`, 'no hang, no other', wd.other.length === 0 && wd.settleMs < 10_000);
row('faults', 'worker restarted; /readyz', `back in ${wd.restartMs} ms; readyz ${wd.readyzDuringRestart} → ${wd.readyzAfter}; serves ${wd.servesAfter ? 'yes' : 'NO'}; leaked lanes ${wd.leakedLanes}`, '503 → 200, serves', wd.restartMs > 0 && wd.readyzAfter === 200 && wd.servesAfter && wd.leakedLanes === 0);
row('faults', 'crash loop', `${wd.gaveUp ? 'gave up' : 'did NOT give up'}; 503 in ${wd.refusedAfterGiveUpMs} ms; readyz ${wd.readyzAfterGiveUp.slice(0, 3)}; other model ${wd.otherModelServes ? 'serves' : 'DOWN'}`, 'gives up, 503 at once', wd.gaveUp && wd.refusedAfterGiveUpMs < 1000 && wd.readyzAfterGiveUp.startsWith('503') && wd.otherModelServes);
row('faults', 'shutdown with calls in flight', wd.shutdownUnderLoad, 'code 0', wd.shutdownUnderLoad === 'code 0');

if (SOAK_S > 0) {
  log(`soak: ${SOAK_S} s of mixed traffic`);
  const so = await withTarget({}, (t) => runSoak(t, models, { durationS: SOAK_S, seed: SEED }));
  all.soak = so;
  row('soak', 'duration, requests', `${so.durationS} s, ${so.requests} (p50 ${so.p50Ms} ms, p99 ${so.p99Ms} ms; ${so.aborted} aborted)`, SOAK_S < 600 ? `600 s (shortened to ${SOAK_S})` : '600 s', null);
  row('soak', '5xx / client errors', `${so.fiveXX} / ${so.clientErrors}`, '0 / 0', so.fiveXX === 0 && so.clientErrors === 0);
  const series = so.samples.filter((_, i) => i % Math.max(1, Math.floor(so.samples.length / 8)) === 0 || i === so.samples.length - 1);
  row('soak', 'RSS over time (MB)', series.map((x) => `${Math.round(x.s)}s:${Math.round(x.rssMB)}`).join(' '), '', null);
  row('soak', 'memory growth after warm-up', `RSS ${so.rssStartMB}→${so.rssEndMB} MB (${so.rssSlopeMBPerMin} MB/min, max ${so.rssMaxMB}); heap ${so.heapStartMB}→${so.heapEndMB} MB (${so.heapSlopeMBPerMin} MB/min)`, 'RSS ≤ +64 MB, heap ≤ +16 MB', so.rssEndMB - so.rssStartMB <= 64 && so.heapEndMB - so.heapStartMB <= 16 && so.leakedLanes === 0);
} else row('soak', 'skipped', '--soak-s 0', '', null);

row('all', 'crashes (service process exits)', String(crashes), '0', crashes === 0);

function sign(x: number): string {
  return `${x >= 0 ? '+' : ''}${x} MB`;
}

// the table
const head = ['phase', 'measure', 'value', 'requirement', 'ok'];
const cells = rows.map((r) => [r.phase, r.what, r.value, r.need, r.ok === null ? '–' : r.ok ? 'PASS' : 'FAIL']);
const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(width[i])).join(' | ')} |`;
const out = [line(head), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
const failed = rows.filter((r) => r.ok === false).length;
console.log(`\njfdl-serve reliability — ${new Date().toISOString()} — ${Math.round((Date.now() - t0) / 1000)} s, seed ${SEED}, model ${models.guided} (+ ${models.plain})\n`);
console.log(out.join('\n'));
console.log(`\n${failed ? `${failed} requirement(s) FAILED` : 'all requirements met'}`);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ ...all, rows }, null, 2));
process.exit(failed ? 1 : 0);
