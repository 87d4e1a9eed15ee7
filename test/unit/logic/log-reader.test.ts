import { describe, expect, it } from 'vitest';
import { planShares } from '../../../runtime/logic/log-reader.js';

describe('planShares', () => {
  it.each([
    ['one read of unknown size gets the whole budget', [0], 1000, false, [1000]],
    ['unknown sizes share the budget evenly (rounded down)', [0, 0, 0], 1000, false, [333, 333, 333]],
    ['known needs come first, the rest is shared by the unknown', [300, 0, 0], 1000, false, [300, 350, 350]],
    ['known needs get their need plus an even share of what is left', [300, 200], 1000, false, [550, 450]],
    ['a need that does not fit gets nothing', [800, 300, 0], 1000, false, [800, 0, 200]],
    ['needs that never fit get nothing without oversize', [2000, 3000], 1000, false, [0, 0]],
    ['with oversize, the first need is granted alone beyond the budget', [2000, 3000], 1000, true, [2000, 0]],
    ['oversize is not used while anything fits', [2000, 0], 1000, true, [0, 1000]],
    ['no budget left: nothing', [0, 0], 0, false, [0, 0]],
    ['too many readers for the budget: nothing each', [0, 0, 0], 2, false, [0, 0, 0]],
  ])('%s', (_name, needs, budget, oversize, shares) => {
    expect(planShares(needs, budget, oversize)).toEqual(shares);
  });

  it('never plans more than the budget unless oversize grants one read alone', () => {
    for (let trial = 0; trial < 500; trial++) {
      const needs = Array.from({ length: 1 + (trial % 7) }, (_, i) => ((trial * 7919 + i * 104_729) % 5) === 0 ? 0 : (trial * 31 + i * 977) % 3000);
      const budget = (trial * 613) % 4000;
      const shares = planShares(needs, budget, false);
      expect(shares.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(budget);
      shares.forEach((share, i) => {
        const need = needs[i] as number;
        if (need > 0 && share > 0) expect(share).toBeGreaterThanOrEqual(need);
      });
    }
  });
});
