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

/** PHASE_BY_CODE's value for a first character that names no phase. */
const NOT_A_PHASE = 255;
/** A body's phase (its index in PHASES) by its first UTF-16 code unit. */
const PHASE_BY_CODE = new Uint8Array(65536).fill(NOT_A_PHASE);
PHASES.forEach((p, i) => {
  PHASE_BY_CODE[p.charCodeAt(0)] = i;
});

/**
 * Phase (its index in PHASES) and send time of a body, or null when the body is not a benchmark
 * body. The phase comes from a table, not from one comparison per phase: a comparison that only
 * measured bodies reach would first run in the measured phase, and V8 throws away (deoptimizes)
 * code compiled during the warm-up when it meets an operation it never saw run.
 */
export function decodeBody(body: unknown): { phase: number; sentAtMs: number } | null {
  if (typeof body !== 'string' || body.length < 3) return null;
  const phase = PHASE_BY_CODE[body.charCodeAt(0)] as number;
  if (phase === NOT_A_PHASE) return null;
  const space = body.indexOf(' ', 1);
  const sentAtMs = Number(body.slice(1, space < 0 ? undefined : space));
  if (!Number.isFinite(sentAtMs) || sentAtMs <= 0) return null;
  return { phase, sentAtMs };
}

/** The index of `phase` in PHASES. */
export function phaseIndex(phase: BenchPhase): number {
  return PHASES.indexOf(phase);
}
