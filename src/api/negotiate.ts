/**
 * Content negotiation (RFC 9110 §12.5.1) with `negotiator` (jshttp's parser of Accept: q-values,
 * wildcards, specificity). An absent, empty or unparseable Accept header states no preference,
 * so the first type a route lists wins; an Accept that excludes every type a route produces is
 * refused with 406 (src/plugins/negotiation.ts).
 */
import Negotiator from 'negotiator';
import { IMAGE_MIME, IMAGE_MIME_TYPES, type ImageFormat } from '../enums.js';
import { InvalidField, NotAcceptable } from '../errors.js';

/** The media types an Accept header lists (empty: no usable preference). */
function ranges(accept: string | undefined): Negotiator | null {
  if (accept === undefined || accept.trim() === '') return null;
  const n = new Negotiator({ headers: { accept } });
  return n.mediaTypes().length ? n : null;
}

/** The best of `available` (in the route's order of preference) under `accept`, or undefined when none is acceptable. */
export function preferredType(accept: string | undefined, available: readonly string[]): string | undefined {
  const n = ranges(accept);
  return n ? n.mediaType([...available]) : available[0];
}

/**
 * The image format of POST /v1/generate/image. An explicit `format` must be acceptable; without
 * one, the image type Accept prefers (png on a tie or without Accept). A format no Accept range
 * allows while another image type is allowed is a conflict in the request (400, field format);
 * no image type at all is 406.
 */
export function imageFormatFor(accept: string | undefined, format: ImageFormat | undefined): ImageFormat {
  const available = format ? [IMAGE_MIME[format]] : IMAGE_MIME_TYPES;
  const chosen = preferredType(accept, available);
  if (chosen) return (Object.keys(IMAGE_MIME) as ImageFormat[]).find((f) => IMAGE_MIME[f] === chosen)!;
  const other = preferredType(accept, IMAGE_MIME_TYPES);
  if (format && other)
    throw new InvalidField(
      'format',
      `format ${JSON.stringify(format)} conflicts with Accept: ${accept} (which allows ${other}); omit format, or accept ${IMAGE_MIME[format]}`,
    );
  throw new NotAcceptable(`this operation returns ${IMAGE_MIME_TYPES.join(', ')}; Accept: ${accept} allows none of them`);
}
