/**
 * Durations in the CRD (`offline.retention`) are written like Go's `time.Duration` strings, the
 * convention of Kubernetes APIs and the only form CEL's `duration()` parses: integer amounts of
 * `h`, `m`, `s`, `ms`, concatenated (`168h`, `1h30m`, `90s`). Days are not a unit (write `168h`).
 */

/** The accepted form, for the CRD's `pattern` and for `parseDurationMs`. */
export const DURATION_PATTERN = '^([0-9]{1,9}(ms|s|m|h))+$';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = new RegExp(DURATION_PATTERN);
const PART = /([0-9]+)(ms|s|m|h)/g;

/** Milliseconds of a duration string, or null when it does not match DURATION_PATTERN. */
export function parseDurationMs(text: string): number | null {
  if (!DURATION.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return Number.isSafeInteger(total) ? total : null;
}

/** The shortest DURATION_PATTERN text for a whole number of milliseconds (`8760h`, `1m`, `90s`). */
export function formatDurationMs(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`duration ${ms} ms is not a whole number of milliseconds`);
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
