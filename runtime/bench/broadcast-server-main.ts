/**
 * Entry point of one `--baseline` broadcast server process, forked by `imgroup bench`: it gets
 * its index and the groups over IPC, listens on free loopback ports (clients, relay), reports
 * them, opens its relay sockets to the other processes when told, reports its CPU time and open
 * connections when asked, and exits when the IPC channel closes.
 */
import { type BroadcastCommand, type BroadcastReply, type BroadcastServer, startBroadcastServer } from './broadcast-server.js';
import { cpuUsageSeconds } from './process-cpu.js';

const send = process.send?.bind(process);
if (!send) {
  process.stderr.write('broadcast-server-main: run by `imgroup bench --baseline` (needs an IPC channel)\n');
  process.exit(2);
}

const reply = (r: BroadcastReply) => void send(r);
const failed = (err: Error) => reply({ type: 'error', message: err.message });
let server: BroadcastServer | null = null;

process.on('message', (m) => {
  const c = m as BroadcastCommand;
  switch (c?.type) {
    case 'start':
      startBroadcastServer({ host: c.host, port: 0, index: c.index, servers: c.servers, groups: c.groups, maxPayloadBytes: c.maxPayloadBytes }).then((s) => {
        server = s;
        reply({ type: 'listening', port: s.port, relayPort: s.relayPort });
      }, failed);
      return;
    case 'link':
      if (!server) return failed(new Error('link before start'));
      server.link(c.peers).then(() => reply({ type: 'linked' }), failed);
      return;
    case 'stats':
      reply({ type: 'stats', cpuSeconds: cpuUsageSeconds(process.cpuUsage()), connections: server?.connections() ?? 0 });
      return;
  }
});
process.on('disconnect', () => process.exit(0));
