/**
 * Connection churn: one round connects a client for each of the given users (members of a group,
 * spread over the gates), optionally sends one message, and closes them all. Used by the churn
 * scenario and by the soak.
 */
import WebSocket from 'ws';
import { ImgroupClient } from '../../../runtime/client/index.js';
import type { TestSystem } from '../../support/system.js';

export async function churnRound(sys: TestSystem, users: readonly string[], send?: { groupId: string; body: string }): Promise<void> {
  const clients = users.map(
    (u, k) => new ImgroupClient({ url: sys.gates[k % sys.gates.length]!.wsUrl, token: () => sys.token(u), WebSocket, reconnectMinMs: 100, reconnectMaxMs: 1000 }),
  );
  try {
    await Promise.all(clients.map((c) => c.connect()));
    if (send) await clients[0]!.send(send.groupId, send.body);
  } finally {
    for (const c of clients) c.close();
  }
}
