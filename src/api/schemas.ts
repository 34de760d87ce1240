/**
 * Request/response schemas of the HTTP API v1, as exported zod objects so the same definitions
 * validate requests and (with @fastify/swagger + fastify-type-provider-zod) generate the OpenAPI
 * document. Model-dependent limits (class count, guidance range, max_steps, σ range) are checked
 * in the route against the chosen model's manifest; names and shared limits come from
 * src/enums.ts.
 */
import { z } from 'zod';
import { ERROR_KINDS } from '../errors.js';
import { GRAPH_KINDS, IMAGE_FORMATS, IMAGE_MIME_TYPES, EXECUTION_PROVIDERS, MAX_IMAGES_CAP, MAX_SCALE, MODEL_NAME_MAX, MODEL_NAME_PATTERN, MODEL_STATUSES, SAMPLERS, UINT32_MAX } from '../enums.js';

export { UINT32_MAX };

/** A graph name as model.json defines it; requests and paths use the same rule. */
export const ModelName = z
  .string()
  .max(MODEL_NAME_MAX)
  .regex(MODEL_NAME_PATTERN, 'a model name: a letter or digit, then letters, digits, ".", "_" or "-"');

/** The fields both generate operations share. */
const generateFields = {
  model: ModelName.optional().describe('graph name from GET /v1/models (default: DEFAULT_MODEL, else the first ready guided model)'),
  class: z
    .union([z.number().int().min(0).max(1_000_000), z.string().min(1).max(128)])
    .describe('class index 0…K−1 or class name'),
  guidance: z.number().min(-100).max(100).optional().describe('guidance scale w (1 = plain conditional, 0 = unconditional); default from the model; must be 1 on a plain CM'),
  steps: z.number().int().min(1).max(1000).optional().describe("number of sampler steps (default: the model's default_steps, at most max_steps)"),
  sigmas: z
    .array(z.number())
    .min(1)
    .max(1000)
    .optional()
    .describe('explicit σ schedule, strictly descending inside [σ_min, σ_max]; sets the step count'),
  sampler: z.enum(SAMPLERS).optional().describe('"ode" reuses the implied VE noise (default); "consistency" draws fresh noise each step'),
  seed: z.number().int().min(0).max(UINT32_MAX).optional().describe('uint32 seed; omitted → random; always returned'),
  scale: z.number().int().min(1).max(MAX_SCALE).default(1).describe('integer nearest-neighbour upscale for display'),
};

export const GenerateRequest = z
  .strictObject({
    ...generateFields,
    num_images: z.number().int().min(1).max(MAX_IMAGES_CAP).default(1).describe('images to generate (at most MAX_IMAGES, 16 by default); image i uses Philox key (seed, i)'),
    format: z.enum(IMAGE_FORMATS).default('png').describe('encoding of the base64 images'),
    debug: z.boolean().default(false).describe('include the network calls this request took part in (batch composition)'),
  })
  .meta({
    id: 'GenerateRequest',
    description: 'POST /v1/generate body. Model-dependent limits (class count, guidance range, max_steps, σ range) are listed by GET /v1/models/{name}.',
    examples: [
      { model: 'digits16', class: 3, guidance: 1.3, steps: 2, seed: 42, scale: 8 },
      { model: 'digits16-cm', class: '7', sampler: 'consistency', steps: 4, num_images: 4 },
      { class: 0, sigmas: [80, 2], format: 'webp' },
    ],
  });

export const GenerateImageRequest = z
  .strictObject({
    ...generateFields,
    // no default in the schema: an explicit format must agree with Accept (src/api/negotiate.ts)
    format: z
      .enum(IMAGE_FORMATS)
      .optional()
      .meta({ default: 'png' })
      .describe('encoding of the image; omitted: the image type Accept prefers, else png. An explicit format must be acceptable under Accept (else 400)'),
  })
  .meta({
    id: 'GenerateImageRequest',
    description: 'POST /v1/generate/image body: the fields of GenerateRequest for one image, returned as raw bytes.',
    examples: [
      { model: 'digits16', class: 3, guidance: 1.3, seed: 42, scale: 8 },
      { class: '7', format: 'webp' },
    ],
  });

export type GenerateRequestT = z.output<typeof GenerateRequest>;
export type GenerateImageRequestT = z.output<typeof GenerateImageRequest>;

export const CallInfoSchema = z
  .object({
  call: z.number().int(),
  rows: z.number().int(),
  lanes: z.number().int(),
  requests: z.number().int().describe('distinct requests sharing this network call'),
  worker: z.number().int().describe('the engine worker (onnxruntime session) that ran the call'),
  composition: z
    .array(
      z.object({
        request: z.number().int(),
        index: z.number().int().describe('image index within its request'),
        step: z.number().int(),
        of: z.number().int().describe('steps of its request'),
        rows: z.number().int().describe('rows its lane needs per step: 2 guided, 1 unguided'),
        part: z.number().int().describe('which of them this row is: 0 the class row, 1 the null-class row'),
        guidance: z.number(),
      }),
    )
    .describe('one entry per row; a lone request on an idle service may run its two rows of a step on two workers'),
  })
  .meta({ id: 'NetworkCall', description: 'one batched network call: its rows (a guided lane takes 2) and the lanes of every request that shared it' });

export const GenerateResponse = z
  .object({
    model: z.string().describe('the model graph that generated the images'),
    seed: z.number().int().describe('the seed used (the request\'s, or the random one drawn); image i uses Philox key (seed, i)'),
    images: z
      .array(
        z.object({
          index: z.number().int(),
          mime: z.enum(IMAGE_MIME_TYPES).describe('the encoding (the request\'s format)'),
          b64: z.string().describe('base64 of the encoded image'),
        }),
      )
      .describe('num_images images, in index order'),
    params: z
      .object({
        class: z.number().int().describe('class index'),
        guidance: z.number(),
        steps: z.number().int(),
        sigmas: z.array(z.number()).describe('the σ schedule used'),
        sampler: z.enum(SAMPLERS),
      })
      .describe('the parameters after defaults were applied'),
    timings_ms: z
      .object({
        queue: z.number().describe('admission to the first network call'),
        compute: z.number().describe('first network call to the last image done'),
        encode: z.number().describe('image encoding'),
        total: z.number().describe('the whole request inside the service'),
      })
      .describe('milliseconds'),
    debug: z.object({ request: z.number().int(), calls: z.array(CallInfoSchema) }).optional().describe('present with debug: true'),
  })
  .meta({
    id: 'GenerateResponse',
    examples: [
      {
        model: 'digits16',
        seed: 42,
        images: [{ index: 0, mime: 'image/png', b64: 'iVBORw0KGgoAAAANSUhEUgAAAIAAAACAC…' }],
        params: { class: 3, guidance: 1.3, steps: 2, sigmas: [80, 2], sampler: 'ode' },
        timings_ms: { queue: 0.4, compute: 3.1, encode: 0.2, total: 4.0 },
      },
    ],
  });

export const ErrorResponse = z
  .object({
    error: z.enum(ERROR_KINDS).describe('stable snake_case error code: what kind of failure (each operation documents the codes it can answer under each status)'),
    message: z.string().describe('human-readable explanation'),
    field: z.string().optional().describe('the request field at fault (e.g. "guidance", "sigmas[2]", "body", "accept")'),
  })
  .meta({
    id: 'Error',
    description: 'Every error response: a stable code, a readable message and, for bad input, the field at fault. Never a stack trace.',
    examples: [{ error: 'invalid_request', message: 'guidance must be within [0, 4] for model digits16', field: 'guidance' }],
  });

const Range = z.object({ default: z.number(), min: z.number(), max: z.number() });

export const ModelInfo = z
  .object({
    name: z.string().describe('the name requests use ("model" field); a folder whose manifest failed is listed under its folder name'),
    status: z.enum(MODEL_STATUSES).describe('ready: loaded, checked against the contract and warmed up'),
    error: z.string().optional().describe('why the model could not be loaded (status "error")'),
    folder: z.string().describe('folder under MODELS_DIR'),
    kind: z.enum(GRAPH_KINDS).optional().describe('"jfdl": CM plus the learned guidance embedding (guidable); "cm": plain consistency model (guidance must be 1)'),
    description: z.string().optional(),
    image: z.object({ channels: z.number().int(), height: z.number().int(), width: z.number().int() }).optional().describe('generated image shape'),
    classes: z.array(z.string()).optional().describe('class names; a request may use an index 0…K−1 or a name'),
    null_class: z.number().int().nullable().optional().describe('index of the JFDL guidance embedding (= K); null for a plain CM'),
    guidance: Range.optional().describe('guidance scale w: default and allowed range'),
    guided: z.boolean().optional().describe('whether guidance ≠ 1 is possible'),
    sigma: z.object({ min: z.number(), max: z.number(), data: z.number() }).optional().describe('σ_min, σ_max, σ_data of the VE noise schedule'),
    clamp: z.boolean().optional().describe('denoised predictions are clamped to [−1, 1]'),
    default_sampler: z.enum(SAMPLERS).optional(),
    default_steps: z.number().int().optional(),
    max_steps: z.number().int().optional(),
    schedules: z.record(z.string(), z.array(z.number())).optional().describe('default descending σ list per step count (others: Karras ρ = 7)'),
    file: z.string().optional().describe('ONNX graph file'),
    sha256: z.string().optional(),
    execution_provider: z.enum(EXECUTION_PROVIDERS).nullable().optional().describe('onnxruntime execution provider in use'),
    provider_attempts: z.array(z.object({ provider: z.string(), error: z.string() })).optional().describe('providers tried before the one in use, with why they failed'),
    engine: z
      .object({
        workers: z.number().int().describe('sessions (worker threads) running this graph'),
        intra_op_threads: z.number().int().describe('onnxruntime intra-op threads of each'),
        target_rows: z.number().int().optional().describe('rows per network call the scheduler aims for (BATCH_TARGET_ROWS, else the best measured at warm-up)'),
        ms_per_row: z.number().nullable().optional().describe('warm-up: wall time of a 1-row call with every worker busy (ms)'),
        batch_profile: z
          .array(z.object({ rows: z.number().int(), rows_per_s: z.number() }))
          .optional()
          .describe('warm-up: rows per second of every worker side by side, by rows per call'),
      })
      .nullable()
      .optional()
      .describe('how the graph is laid out on the machine (ENGINE_WORKERS, INTRA_OP_THREADS) and the batch size it runs at'),
    provenance: z.record(z.string(), z.unknown()).optional().describe('training data and run (from model.json)'),
    metrics: z.record(z.string(), z.unknown()).optional().describe('measured quality metrics (from model.json)'),
    queue_depth: z.number().int().optional().describe('images admitted and not yet finished'),
    limits: z
      .object({
        deadline_ms: z.number().int().describe('a request not done by then gets 504'),
        queue_limit: z.number().int().describe('images queued or in progress; beyond it 503 + Retry-After'),
        max_images: z.number().int().describe('the largest num_images this model accepts'),
      })
      .optional()
      .describe('REQUEST_DEADLINE_MS / QUEUE_LIMIT when set, else derived from the cost measured at warm-up'),
    stats: z
      .object({ calls: z.number().int(), rows: z.number().int(), images: z.number().int(), rejected: z.number().int(), deadlines: z.number().int(), aborted: z.number().int() })
      .catchall(z.number())
      .nullable()
      .optional()
      .describe('scheduler counters since start: network calls, rows, images, rejected (queue full), deadlines, aborted'),
  })
  .meta({ id: 'ModelInfo', description: 'One servable model graph: manifest, limits, execution provider, status and load' });

export const ModelsResponse = z.object({ models: z.array(ModelInfo) }).meta({ id: 'ModelList' });
