/**
 * Client-chosen request ids (`send.id`, `sync.id`): a random base36 prefix per client plus a base36
 * counter. The prefix keeps ids of different clients (and of one app across restarts) apart; the
 * counter keeps ids of one client unique without drawing randomness per request.
 */

export type RequestIdSource = () => string;

function randomBase36(length: number): string {
  let out = '';
  while (out.length < length) out += Math.random().toString(36).slice(2);
  return out.slice(0, length);
}

/** A source of ids like `k3j9x0q2m1z8a7b4-1f`: 16 random characters, a dash and a counter. */
export function createRequestIdSource(): RequestIdSource {
  const prefix = randomBase36(16);
  let counter = 0;
  return () => `${prefix}-${(counter++).toString(36)}`;
}
