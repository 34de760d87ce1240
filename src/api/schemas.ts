/**
 * Request/response schemas of the HTTP API v1 (shared/DESIGN.md §6), as exported zod objects so
 * the same definitions validate requests and (with @fastify/swagger + fastify-type-provider-zod)
 * generate the OpenAPI document. Model-dependent limits (class count, guidance range, max_steps,
 * σ range) are checked in the route against the chosen model's manifest.
 */
import { z } from 'zod';
import { FORMATS } from '../images/encode.js';

export const UINT32_MAX = 4294967295;

export const GenerateRequest = z
  .strictObject({
    model: z.string().min(1).max(64).optional().describe('graph name from GET /v1/models (default: the first guided model, or DEFAULT_MODEL)'),
    class: z
      .union([z.number().int().min(0).max(1_000_000), z.string().min(1).max(128)])
      .describe('class index 0…K−1 or class name'),
    guidance: z.number().min(-100).max(100).optional().describe("guidance scale w (1 = plain conditional, 0 = unconditional); default from the model; must be 1 on a plain CM"),
    steps: z.number().int().min(1).max(1000).optional().describe("number of sampler steps (default: the model's default_steps, at most max_steps)"),
    sigmas: z
      .array(z.number())
      .min(1)
      .max(1000)
      .optional()
      .describe('explicit σ schedule, strictly descending inside [σ_min, σ_max]; sets the step count'),
    sampler: z.enum(['ode', 'consistency']).optional().describe('"ode" reuses the implied VE noise (default); "consistency" draws fresh noise each step'),
    seed: z.number().int().min(0).max(UINT32_MAX).optional().describe('uint32 seed; omitted → random; always returned'),
    num_images: z.number().int().min(1).max(256).default(1).describe('images to generate; image i uses Philox key (seed, i)'),
    format: z.enum(FORMATS).default('png').describe('image encoding'),
    scale: z.number().int().min(1).max(8).default(1).describe('integer nearest-neighbour upscale for display'),
    debug: z.boolean().default(false).describe('include the network calls this request took part in (batch composition)'),
  })
  .describe('POST /v1/generate body');

export type GenerateRequestT = z.output<typeof GenerateRequest>;

export const CallInfoSchema = z.object({
  call: z.number().int(),
  rows: z.number().int(),
  lanes: z.number().int(),
  requests: z.number().int().describe('distinct requests sharing this network call'),
  composition: z.array(
    z.object({ request: z.number().int(), index: z.number().int(), step: z.number().int(), of: z.number().int(), rows: z.number().int(), guidance: z.number() }),
  ),
});

export const GenerateResponse = z.object({
  model: z.string(),
  seed: z.number().int(),
  images: z.array(z.object({ index: z.number().int(), mime: z.string(), b64: z.string() })),
  params: z.object({
    class: z.number().int(),
    guidance: z.number(),
    steps: z.number().int(),
    sigmas: z.array(z.number()),
    sampler: z.enum(['ode', 'consistency']),
  }),
  timings_ms: z.object({ queue: z.number(), compute: z.number(), encode: z.number(), total: z.number() }),
  debug: z.object({ request: z.number().int(), calls: z.array(CallInfoSchema) }).optional(),
});

export const ErrorResponse = z.object({
  error: z.string().describe('stable snake_case error code'),
  message: z.string(),
  field: z.string().optional().describe('the request field at fault'),
});

export const ModelInfo = z
  .object({
    name: z.string(),
    status: z.enum(['loading', 'ready', 'error']),
    error: z.string().optional(),
  })
  .catchall(z.unknown());

export const ModelsResponse = z.object({ models: z.array(ModelInfo) });
