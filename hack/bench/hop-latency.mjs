// One message at a time through a running cluster (e.g. `imgroup dev`): alice sends, bob receives,
// 300 times, 20 ms apart; prints send→sent, send→bob's msg and a client↔gate ping round trip
// (p50/p90/p99, ms). Read against the processes' own histograms (imgroup_logic_message_duration_seconds,
// imgroup_redis_command_duration_seconds, imgroup_gate_route_duration_seconds) it shows what each
// hop costs when nothing queues. Usage, from the checkout:
//   IMGROUP_JWT_SECRET=… IMGROUP_ADMIN_TOKEN=… node hack/bench/hop-latency.mjs [gate http url, default http://127.0.0.1:8080]
import WebSocket from 'ws';
import { SignJWT } from 'jose';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const secret = new TextEncoder().encode(process.env.IMGROUP_JWT_SECRET ?? '');
const admin = process.env.IMGROUP_ADMIN_TOKEN ?? '';
const token = (sub) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(secret);
const group = `hop-${Math.random().toString(36).slice(2, 8)}`;
const put = await fetch(`${base}/v1/groups/${group}/members`, {
  method: 'PUT',
  headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
  body: JSON.stringify({ add: ['hop-alice', 'hop-bob'] }),
});
if (put.status !== 200) throw new Error(`adding members: HTTP ${put.status} (IMGROUP_ADMIN_TOKEN?)`);

async function open(userId) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws?token=${await token(userId)}`);
  await new Promise((resolve, reject) => {
    ws.once('close', (code) => reject(new Error(`closed ${code} (IMGROUP_JWT_SECRET?)`)));
    ws.on('message', function welcome(m) {
      if (JSON.parse(m).type !== 'welcome') return;
      ws.off('message', welcome);
      resolve();
    });
  });
  return ws;
}

const alice = await open('hop-alice');
const bob = await open('hop-bob');
const times = { 'send→sent': [], 'send→bob msg': [], 'ping→pong': [] };
let onSent, onMsg, onPong;
alice.on('message', (m) => {
  const f = JSON.parse(m);
  if (f.type === 'sent') onSent?.();
  if (f.type === 'pong') onPong?.();
});
bob.on('message', (m) => JSON.parse(m).type === 'msg' && onMsg?.());
for (let i = 0; i < 300; i++) {
  const t0 = performance.now();
  const sent = new Promise((r) => (onSent = () => r(times['send→sent'].push(performance.now() - t0))));
  const got = new Promise((r) => (onMsg = () => r(times['send→bob msg'].push(performance.now() - t0))));
  alice.send(JSON.stringify({ type: 'send', id: `h${i}`, groupId: group, body: 'hop' }));
  await Promise.all([sent, got]);
  const t1 = performance.now();
  await new Promise((r) => {
    onPong = () => r(times['ping→pong'].push(performance.now() - t1));
    alice.send(JSON.stringify({ type: 'ping' }));
  });
  await new Promise((r) => setTimeout(r, 20));
}
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))].toFixed(2);
for (const [name, xs] of Object.entries(times)) console.log(`${name}: p50 ${q(xs, 0.5)} p90 ${q(xs, 0.9)} p99 ${q(xs, 0.99)} ms`);
alice.close();
bob.close();
