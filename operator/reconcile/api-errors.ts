/**
 * The HTTP status of an error thrown by @kubernetes/client-node (ApiException has `code`), or
 * undefined for network errors and anything else.
 */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return apiStatus(err) === 404;
}

/** 409: a write met a newer resourceVersion, or a create met an object of that name (AlreadyExists). */
export function isConflict(err: unknown): boolean {
  return apiStatus(err) === 409;
}

/** 4xx other than 404/409/429 do not get better by retrying the same request. */
export function isTerminalApiError(err: unknown): boolean {
  const s = apiStatus(err);
  return s !== undefined && s >= 400 && s < 500 && s !== 404 && s !== 409 && s !== 429;
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
