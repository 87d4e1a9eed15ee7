/**
 * Kubernetes resource quantities (`500m`, `1.5`, `256Mi`, `1G`, `1e3`) as plain numbers, for
 * the downward API's resourceFieldRef: value ÷ divisor rounded up, as the kubelet does.
 */
const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** The quantity's value, or null when it is not a quantity. */
export function parseQuantity(text: string): number | null {
  const m = QUANTITY.exec(text.trim());
  if (!m) return null;
  const base = Number(m[1]);
  if (m[2]) return Number(`${m[1]}${m[2]}`);
  const factor = SUFFIX[m[3] ?? ''];
  return factor === undefined || !Number.isFinite(base) ? null : base * factor;
}

/** ceil(value / divisor), with a small tolerance for binary fractions (0.3 / 0.1 is 3, not 4). */
export function divideQuantity(value: number, divisor: number): number {
  const q = value / divisor;
  const rounded = Math.round(q);
  return Math.abs(q - rounded) < 1e-9 ? rounded : Math.ceil(q);
}
