/**
 * Typed TypeScript client of the jfdl-serve HTTP API, exported as `jfdl-serve/client`.
 * The types (./schema.ts) are generated from openapi/openapi.json by openapi-typescript
 * (`npm run openapi`); requests go through openapi-fetch, so every path, body field, query and
 * response — error bodies included — is checked by the compiler against the document.
 *
 * ```ts
 * import { createJfdlClient } from 'jfdl-serve/client';
 * const api = createJfdlClient('http://localhost:8080');
 * const { data, error } = await api.POST('/v1/generate', { body: { model: 'digits16', class: 3, guidance: 1.3, seed: 42 } });
 * if (data) console.log(data.images[0].b64); // typed as the JSON answer
 * const png = await api.POST('/v1/generate/image', { body: { class: 3 }, parseAs: 'arrayBuffer' }); // one raw image
 * ```
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema.js';

export type { components, operations, paths };
export type GenerateRequest = components['schemas']['GenerateRequest'];
export type GenerateImageRequest = components['schemas']['GenerateImageRequest'];
export type GenerateResponse = components['schemas']['GenerateResponse'];
export type ModelInfo = components['schemas']['ModelInfo'];
export type ModelList = components['schemas']['ModelList'];
export type ApiError = components['schemas']['Error'];
export type JfdlClient = Client<paths>;

/** A client bound to a service base URL, e.g. `http://localhost:8080`. */
export function createJfdlClient(baseUrl: string, options: Omit<ClientOptions, 'baseUrl'> = {}): JfdlClient {
  return createClient<paths>({ ...options, baseUrl: baseUrl.replace(/\/+$/, '') });
}

/** Thrown by the convenience helpers with the service's `{error, message, field?}` body. */
export class JfdlApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(`${status} ${body.error}: ${body.message}`);
    this.name = 'JfdlApiError';
  }
}

/** POST /v1/generate and return the JSON result; throws JfdlApiError on a 4xx/5xx answer. */
export async function generate(client: JfdlClient, body: GenerateRequest): Promise<GenerateResponse> {
  const { data, error, response } = await client.POST('/v1/generate', { body });
  if (error) throw new JfdlApiError(response.status, error);
  return data;
}

/** POST /v1/generate/image: one image as bytes (png unless `body.format` says otherwise), with the seed used. */
export async function generateImage(client: JfdlClient, body: GenerateImageRequest): Promise<{ bytes: Uint8Array; mime: string; seed: number; model: string }> {
  const { data, error, response } = await client.POST('/v1/generate/image', { body, parseAs: 'arrayBuffer' });
  if (error) throw new JfdlApiError(response.status, error);
  return {
    bytes: new Uint8Array(data),
    mime: response.headers.get('content-type') ?? 'application/octet-stream',
    seed: Number(response.headers.get('x-seed')),
    model: response.headers.get('x-model') ?? '',
  };
}
