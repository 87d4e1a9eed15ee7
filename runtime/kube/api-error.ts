/**
 * What a failure of a Kubernetes API call says, for the list-watch loop and for logs: the HTTP
 * status of a client-node failure, whichever shape it has, and a short description of it.
 * Nothing here throws, whatever the failure object is.
 */

/** 410 Gone: the resourceVersion a watch was asked to resume from is too old; list again. */
export const HTTP_GONE = 410;

/** HTTP status of a client-node failure (ApiException `code`, watch error `statusCode`), else undefined. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  const status = typeof e.code === 'number' ? e.code : e.statusCode;
  return typeof status === 'number' && status >= 100 && status < 600 ? status : undefined;
}

/** A short description of a client-node failure for logs (ApiException messages carry whole bodies and headers). */
export function describeApiError(err: unknown): string {
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const body = (err as { body?: unknown }).body;
    let reason = '';
    try {
      const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
      const message = (parsed as { message?: unknown } | null)?.message;
      if (typeof message === 'string') reason = `: ${message}`;
    } catch {
      // not JSON: the status alone
    }
    return `HTTP ${status}${reason}`.slice(0, 300);
  }
  let message: string;
  try {
    message = err instanceof Error ? err.message : String(err);
  } catch {
    message = 'an error that cannot be described';
  }
  return message.slice(0, 300);
}
