/**
 * Service configuration from environment variables, validated with zod at boot. Every knob has a
 * default so `npm start` serves models/ on CPU with no configuration; a bad value stops start-up
 * with a message that names the variable (ConfigError).
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';

export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

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
  QUEUE_LIMIT: int(1, 1_000_000).default(1024).describe('max images queued or in progress; beyond it 503 + Retry-After'),
  REQUEST_DEADLINE_MS: int(1, 3_600_000).default(30_000).describe('a request not finished by then gets 504 and its lanes are dropped'),
  INTRA_OP_THREADS: int(0, 1024).default(0).describe('onnxruntime intra-op threads per session (0 = number of cores)'),
  ENGINE_WORKERS: int(1, 64).default(1).describe('worker threads (sessions) per model graph'),
  PIPELINE_DEPTH: int(1, 8).default(2).describe('network calls queued per worker, so the next batch is ready when one ends'),
  MAX_IMAGES: int(1, 256).default(16).describe('max num_images of one request'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DEFAULT_MODEL: z.string().min(1).optional().describe('model used when a request names none (default: first ready guided graph)'),
  BODY_LIMIT_BYTES: int(256, 64 * 1024 * 1024).default(64 * 1024).describe('max request body size'),
});

export type Config = z.output<typeof ConfigSchema>;

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
    const lines = r.error.issues.map((i) => `${String(i.path[0] ?? '?')}: ${i.message} (got ${JSON.stringify(raw[String(i.path[0])])})`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const cfg = r.data;
  if (cfg.INTRA_OP_THREADS === 0) cfg.INTRA_OP_THREADS = availableParallelism();
  return cfg;
}

/** Config for tests: defaults plus overrides, no environment read. */
export function testConfig(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', ...overrides });
}
