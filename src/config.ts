/**
 * Service configuration from environment variables, validated with zod at boot. Every knob has a
 * default so `npm start` serves models/ on CPU with no configuration; a bad value stops start-up
 * with a message that names the variable (ConfigError).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BATCHING_MODES, EXECUTION_PROVIDERS, LOG_LEVELS, MAX_IMAGES_CAP, type ExecutionProviderName } from './enums.js';

export { EXECUTION_PROVIDERS, type ExecutionProviderName };

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const ConfigSchema = z.object({
  PORT: int(0, 65535).default(8080).describe('TCP port to listen on'),
  HOST: z.string().min(1).default('0.0.0.0').describe('interface to bind'),
  MODELS_DIR: z.string().min(1).default('models').describe('folder of model folders (each with model.json)'),
  EXECUTION_PROVIDERS: z
    .string()
    .default('cuda,webgpu,cpu')
    .transform((s, ctx) => {
      const list = s.split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
      const bad = list.filter((p) => !(EXECUTION_PROVIDERS as readonly string[]).includes(p));
      if (list.length === 0 || bad.length) {
        ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of ${EXECUTION_PROVIDERS.join(', ')}; got ${JSON.stringify(s)}` });
        return z.NEVER;
      }
      return [...new Set(list)] as ExecutionProviderName[];
    })
    .describe('onnxruntime execution providers in order of preference; the first that loads is used'),
  MAX_BATCH: int(2, 4096).default(64).describe('max rows per network call (a guided image takes 2)'),
  MAX_WAIT_MS: z.coerce.number().min(0).max(10_000).default(2).describe('how long a ready lane may wait for a fuller batch'),
  BATCH_WAIT: z.enum(['adaptive', 'fixed']).default('adaptive').describe('adaptive: a partial batch waits (up to MAX_WAIT_MS) only while the measured arrival rate says company is due; fixed: it always waits MAX_WAIT_MS'),
  BATCH_TARGET_ROWS: int(0, 4096).default(0).describe('rows per network call the scheduler aims for (0 = the best measured at warm-up, at most MAX_BATCH)'),
  WARMUP_BUDGET_MS: int(0, 600_000).default(3000).describe('time a graph may spend measuring batch sizes at warm-up (one size always runs)'),
  QUEUE_LIMIT: int(1, 1_000_000)
    .optional()
    .describe('max images queued or in progress per model; beyond it 503 + Retry-After (unset: per model, the images it can finish within its deadline at its measured speed, at most 1024)'),
  REQUEST_DEADLINE_MS: int(1, 3_600_000)
    .optional()
    .describe('a request not finished by then gets 504 and its lanes are dropped (unset: per model, 30 s or four times a lone request of the model at its measured speed, whichever is longer)'),
  INTRA_OP_THREADS: int(0, 1024).default(0).describe('onnxruntime intra-op threads per session (0 = automatic: 1 with automatic ENGINE_WORKERS, else cores ÷ ENGINE_WORKERS)'),
  ENGINE_NICE: int(0, 19).default(10).describe('scheduling niceness of the inference threads (Linux: per thread), so the HTTP event loop wins the CPU whenever it has work'),
  ENGINE_WORKERS: int(0, 64).default(0).describe('worker threads (sessions) per model graph (0 = automatic: on CPU one per core, each single-threaded; on a GPU one)'),
  PIPELINE_DEPTH: int(1, 8).default(2).describe('network calls queued per worker, so the next batch is ready when one ends'),
  MAX_IMAGES: int(1, MAX_IMAGES_CAP).default(16).describe('max num_images of one request'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DEFAULT_MODEL: z.string().min(1).optional().describe('model used when a request names none (default: first ready guided graph)'),
  BODY_LIMIT_BYTES: int(256, 64 * 1024 * 1024).default(64 * 1024).describe('max request body size'),
  BATCHING: z.enum(BATCHING_MODES).default('step').describe('step: lanes join and leave at every network call; request: a batch of whole requests runs to its end before new ones join (for comparison)'),
  // security (src/plugins/security.ts)
  API_KEYS: z.string().optional().describe('comma-separated API keys; when any key is set, /v1/* needs Authorization: Bearer <key>'),
  API_KEYS_FILE: z.string().min(1).optional().describe('file with one API key per line (# comments); added to API_KEYS'),
  RATE_LIMIT_MAX: int(0, 1_000_000).default(0).describe('requests per window per API key (or client IP without keys) on /v1/*; 0 = off'),
  RATE_LIMIT_WINDOW_MS: int(1, 86_400_000).default(60_000).describe('rate-limit window'),
  CORS_ORIGINS: z.string().optional().describe('comma-separated allowed origins, or *; unset = CORS off'),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((s): boolean | number | string => (s === 'true' ? true : s === 'false' ? false : /^\d+$/.test(s) ? Number(s) : s))
    .describe('fastify trustProxy: false, true, hop count, or comma-separated proxy addresses (client IP for rate limits and logs)'),
  SHUTDOWN_DRAIN_MS: int(0, 3_600_000).default(30_000).describe('on SIGTERM/SIGINT, how long in-flight requests may take to finish before exit (≥ REQUEST_DEADLINE_MS: an accepted request ends, 200 or 504, before the drain gives up on it)'),
}).superRefine((c, ctx) => {
  // a request of MAX_IMAGES images needs that many places in the queue: below it, such requests
  // would be refused with 503 forever, however long the client waits and retries
  if (c.QUEUE_LIMIT !== undefined && c.QUEUE_LIMIT < c.MAX_IMAGES)
    ctx.addIssue({ code: 'custom', path: ['QUEUE_LIMIT'], message: `must be at least MAX_IMAGES (${c.MAX_IMAGES}), or a request of MAX_IMAGES images could never be admitted` });
});

/** Variables whose values never appear in messages or logs. */
const SECRET_VARS = new Set(['API_KEYS']);

export type Config = z.output<typeof ConfigSchema> & {
  /** the API keys of API_KEYS and API_KEYS_FILE together (empty: no authentication) */
  apiKeys?: string[];
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parse the environment (or overrides, for tests) into a Config; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      return `${name}: ${i.message} (got ${SECRET_VARS.has(name) ? '<redacted>' : JSON.stringify(raw[name])})`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const cfg: Config = r.data;
  cfg.apiKeys = readApiKeys(cfg);
  return cfg;
}

/** API keys from API_KEYS and API_KEYS_FILE (trimmed, blank lines and # comments skipped); never logged. */
function readApiKeys(cfg: Config): string[] {
  const keys = (cfg.API_KEYS ?? '').split(',');
  if (cfg.API_KEYS_FILE) {
    let text: string;
    try {
      text = readFileSync(cfg.API_KEYS_FILE, 'utf8');
    } catch (e) {
      throw new ConfigError(`invalid configuration:\n  API_KEYS_FILE: cannot read ${JSON.stringify(cfg.API_KEYS_FILE)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    keys.push(...text.split('\n').filter((l) => !l.trimStart().startsWith('#')));
  }
  const out = [...new Set(keys.map((k) => k.trim()).filter(Boolean))];
  const short = out.filter((k) => k.length < 16).length;
  if (short) throw new ConfigError(`invalid configuration:\n  API_KEYS: ${short} key(s) shorter than 16 characters (values not shown)`);
  return out;
}
