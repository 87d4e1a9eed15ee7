/**
 * Entry point of a client worker process, forked by `imgroup bench` with an IPC channel: commands
 * come in as IPC messages, answers and progress go back the same way. The worker exits when the
 * channel closes (the benchmark ended or died), so it can never outlive it.
 */
import { ClientWorker } from './client-worker.js';
import type { WorkerCommand, WorkerMessage } from './worker-protocol.js';

const send = process.send?.bind(process);
if (!send) {
  process.stderr.write('client-worker-main: run by `imgroup bench` (needs an IPC channel)\n');
  process.exit(2);
}

const worker = new ClientWorker({ send: (m: WorkerMessage) => void send(m) }, `${process.argv[2] ?? 'w'}.`);
process.on('message', (m) => worker.handle(m as WorkerCommand));
process.on('disconnect', () => process.exit(0));
