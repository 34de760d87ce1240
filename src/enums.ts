/**
 * The closed sets of names the service speaks — samplers, execution providers, graph kinds,
 * model states, image formats, batching modes — and the limits shared by more than one schema,
 * each defined once. The zod schemas of the API (src/api/schemas.ts), the manifest
 * (src/models/manifest.ts) and the configuration (src/config.ts) import them, so the OpenAPI
 * document, the manifest's JSON Schema and the code cannot disagree about a name.
 */

/** "ode" reuses the implied VE noise between steps; "consistency" draws fresh noise (docs/model-contract.md). */
export const SAMPLERS = ['ode', 'consistency'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** onnxruntime execution providers, in the default order of preference. */
export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

/** "jfdl": a CM plus the learned guidance embedding (guidable); "cm": a plain consistency model. */
export const GRAPH_KINDS = ['jfdl', 'cm'] as const;
export type GraphKind = (typeof GRAPH_KINDS)[number];

export const MODEL_STATUSES = ['loading', 'ready', 'error'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const IMAGE_FORMATS = ['png', 'webp', 'jpeg'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
export const IMAGE_MIME = { png: 'image/png', webp: 'image/webp', jpeg: 'image/jpeg' } as const satisfies Record<ImageFormat, string>;
export type ImageMime = (typeof IMAGE_MIME)[ImageFormat];
export const IMAGE_MIME_TYPES = IMAGE_FORMATS.map((f) => IMAGE_MIME[f]) as [ImageMime, ...ImageMime[]];

/** step: lanes join and leave at every network call; request: whole requests batched to their end. */
export const BATCHING_MODES = ['step', 'request'] as const;
export type BatchingModeName = (typeof BATCHING_MODES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * A graph's name (`graphs[].model` in model.json, `model` in requests, `{name}` in paths): a
 * letter or digit, then letters, digits, ".", "_", "-"; at most 64 characters.
 */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MODEL_NAME_MAX = 64;

/** The most images one request may ask for, whatever MAX_IMAGES says (its upper bound). */
export const MAX_IMAGES_CAP = 256;
/** The largest integer upscale of a returned image. */
export const MAX_SCALE = 8;
export const UINT32_MAX = 4294967295;
