/**
 * Identifiers that travel on the wire: user ids (JWT `sub`), group ids, client message ids.
 * They end up in Redis keys and URL paths, so their alphabet and length are bounded.
 */

/** Letters, digits and `_ - . : @`; 1 to 128 characters. */
const ID_PATTERN = /^[A-Za-z0-9_\-.:@]{1,128}$/;

/**
 * `.` and `..` are in the alphabet but are URL dot segments: in an admin path
 * (`/v1/groups/../members`) an HTTP client or proxy removes them, so such an id would name a
 * different resource than the one meant. They are refused wherever an id is taken.
 */
const DOT_SEGMENTS: ReadonlySet<string> = new Set(['.', '..']);

export const MAX_ID_LENGTH = 128;

/** User and group ids: 1–128 characters of `A-Z a-z 0-9 _ - . : @`, not `.` or `..`. */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value) && !DOT_SEGMENTS.has(value);
}

/** Client-chosen ids of requests (`send`, `sync`): any printable string of 1–128 characters. */
export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_ID_LENGTH && !/[\u0000-\u001f]/.test(value);
}

export const ID_RULE = '1-128 characters of A-Z a-z 0-9 _ - . : @ (not "." or "..")';
