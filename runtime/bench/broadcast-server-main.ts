/**
 * Entry point of the `--baseline` broadcast server process, forked by `imgroup bench`: it gets
 * the groups over IPC, listens on a free loopback port, reports the port, and exits when the
 * IPC channel closes.
 */
import { type BroadcastCommand, type BroadcastReply, startBroadcastServer } from './broadcast-server.js';

const send = process.send?.bind(process);
if (!send) {
  process.stderr.write('broadcast-server-main: run by `imgroup bench --baseline` (needs an IPC channel)\n');
  process.exit(2);
}

process.on('message', (m) => {
  const c = m as BroadcastCommand;
  if (c?.type !== 'start') return;
  startBroadcastServer({ host: c.host, port: 0, groups: c.groups, maxPayloadBytes: c.maxPayloadBytes }).then(
    (s) => void send({ type: 'listening', port: s.port } satisfies BroadcastReply),
    (err: Error) => void send({ type: 'error', message: err.message } satisfies BroadcastReply),
  );
});
process.on('disconnect', () => process.exit(0));
