// Logic-node CPU of one online fan-out's presence step for a 1,000-member group (half online, 2
// gates), from the session cache: PresenceCache.lookup + routeDevices, with 100,000 other users
// cached. Usage: make build; node hack/bench/fanout-lookup.mjs [checkout root, default .]
// (run it against two checkouts, alternating, to compare builds).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const root = pathToFileURL(resolve(process.argv[2] ?? '.')).href;
const { Registry } = await import('prom-client');
const { createLogicMetrics } = await import(root + '/dist/runtime/logic/logic-metrics.js');
const { SessionCache } = await import(root + '/dist/runtime/logic/session-cache.js');
const { PresenceCache } = await import(root + '/dist/runtime/logic/presence-cache.js');
const { routeDevices } = await import(root + '/dist/runtime/logic/gate-delivery.js');
const metrics = createLogicMetrics(new Registry());
const cache = new SessionCache({ sessionTtlMs: 3600_000, sessionCacheMaxEntries: 200_000, sessionCacheMaxBytes: 256 * 2**20, presenceChannels: 64 }, metrics);
const members = JSON.parse(JSON.stringify(Array.from({ length: 1000 }, (_, i) => `bench-user-${i}-x7`)));
const reader = { lookup: async (ids) => ({ devices: new Map(ids.filter((_, i) => i % 2 === 0).map((u, i) => [u, [{ gate: `gate-${i % 2}`, boot: 'b1', connId: 'c' + i }]])), readAtMs: Date.now() }) };
const pc = new PresenceCache(reader, cache, metrics);
await pc.lookup(members);
// filler: 100k other users so the map is big
for (let i = 0; i < 100000; i++) cache.set(`other-${i}`, { kind: 'presence', devices: [], changedAtMs: Date.now(), renewAtMs: Date.now() + 3000_000 }, Date.now(), cache.epoch(`other-${i}`));
const links = [{ id: 0 }, { id: 1 }];
const linkFor = (gate, boot) => links[gate === 'gate-0' ? 0 : 1];
async function once() { const { devices } = await pc.lookup(members); return routeDevices(devices, linkFor).recipients; }
for (let r = 0; r < 3; r++) {
  for (let i = 0; i < 300; i++) await once();
  const t = process.hrtime.bigint(); const N = 3000;
  for (let i = 0; i < N; i++) await once();
  console.log(process.argv[2] ?? '.', 'µs per 1000-member lookup+route:', (Number(process.hrtime.bigint() - t) / N / 1000).toFixed(0));
}
