/**
 * The body of a benchmark message: which phase it belongs to and when it was sent, padded to the
 * requested size. `w1712345678901.234 xxxx…` — phase letter, send time in ms since the epoch
 * (performance.timeOrigin + performance.now(), comparable across processes on one machine), a
 * space, then padding. Receivers compute latency = receive time − send time from it.
 */

export type BenchPhase = 'w' | 'm';

/** Warm-up messages (not measured) and measured ones. */
export const PHASES: readonly BenchPhase[] = ['w', 'm'];

/** Room the header needs: phase, 13-digit ms, '.', 3 decimals, space — plus slack. */
export const MIN_BODY_BYTES = 32;

/** Now, in ms since the epoch with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function encodeBody(phase: BenchPhase, sentAtMs: number, bodyBytes: number): string {
  const head = `${phase}${sentAtMs.toFixed(3)} `;
  return head.length >= bodyBytes ? head : head + 'x'.repeat(bodyBytes - head.length);
}

/** Phase and send time of a body, or null when the body is not a benchmark body. */
export function decodeBody(body: unknown): { phase: BenchPhase; sentAtMs: number } | null {
  if (typeof body !== 'string' || body.length < 3) return null;
  const phase = body[0];
  if (phase !== 'w' && phase !== 'm') return null;
  const space = body.indexOf(' ', 1);
  const sentAtMs = Number(body.slice(1, space < 0 ? undefined : space));
  if (!Number.isFinite(sentAtMs) || sentAtMs <= 0) return null;
  return { phase, sentAtMs };
}
