/**
 * Creating the benchmark's groups through the gates' admin API (`PUT /v1/groups/{g}/members`),
 * in chunks of at most `chunk` user ids, a few requests at a time, spread over the gates.
 * Retryable answers (429, 503) are retried with backoff; anything else fails the run with the
 * gate's own error message.
 */
import { backoffDelayMs } from '../retry/backoff.js';
import type { GroupPlan } from './population.js';

/** Delays before a refused or unanswered group creation is tried again: 100 ms growing to 2 s. */
const SETUP_RETRY_BACKOFF = { minMs: 100, maxMs: 2000 };

export interface GroupSetupOptions {
  adminUrls: readonly string[];
  adminToken: string;
  /** User ids per request (the gates' IMGROUP_MAX_ADMIN_IDS is 10,000 by default). */
  chunk: number;
  concurrency: number;
}

const RETRIES = 8;
const REQUEST_TIMEOUT_MS = 30_000;

export async function createGroups(groups: readonly GroupPlan[], o: GroupSetupOptions): Promise<void> {
  const requests: Array<{ groupId: string; add: string[] }> = [];
  for (const g of groups) for (let i = 0; i < g.members.length; i += o.chunk) requests.push({ groupId: g.groupId, add: g.members.slice(i, i + o.chunk) });
  let next = 0;
  const lane = async () => {
    while (next < requests.length) {
      const i = next++;
      const r = requests[i] as { groupId: string; add: string[] };
      await putMembers(o.adminUrls[i % o.adminUrls.length] as string, o.adminToken, r.groupId, r.add);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, requests.length) }, lane));
}

async function putMembers(base: string, token: string, groupId: string, add: string[]): Promise<void> {
  const url = `${base}/v1/groups/${encodeURIComponent(groupId)}/members`;
  for (let attempt = 0; ; attempt++) {
    let status: number;
    let text: string;
    try {
      const res = await fetch(url, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ add }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      status = 0;
      text = (err as Error).message;
    }
    if (status === 200) return;
    const retryable = status === 0 || status === 429 || status === 503;
    if (!retryable || attempt >= RETRIES) throw new Error(`creating group ${groupId} failed: PUT ${url} → ${status || 'no answer'} ${text.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, backoffDelayMs(attempt, SETUP_RETRY_BACKOFF)));
  }
}
