/**
 * The `--baseline` subject of a workload: `servers` bare `ws` broadcast server processes
 * (broadcast-server.ts), one per gate of the cluster it is compared with, the connections split
 * over them exactly as over the gates. Each is forked with an IPC channel, started, then linked
 * to the others; their CPU time and open connections are read over the same channel.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { cpuProfileArgs } from '../dev/imgroup-process.js';
import type { BroadcastCommand, BroadcastReply } from './broadcast-server.js';
import { forkedModulePath } from './forked-module.js';
import type { RunSubject } from './run-subject.js';

const HOST = '127.0.0.1';
/** A server that has not exited this long after its IPC channel closed is killed. */
const EXIT_GRACE_MS = 3000;

/** One forked server process, asked one thing at a time. */
class ServerProcess {
  readonly exited: Promise<void>;
  private exitReason: string | null = null;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitReason = `exited (code ${code}, signal ${signal})`;
        resolve();
      }),
    );
  }

  ask<T extends BroadcastReply['type']>(command: BroadcastCommand, type: T): Promise<Extract<BroadcastReply, { type: T }>> {
    if (this.exitReason) return Promise.reject(new Error(`baseline server ${this.index} ${this.exitReason}`));
    return new Promise((resolve, reject) => {
      const onMessage = (m: BroadcastReply) => {
        if (m?.type !== type && m?.type !== 'error') return;
        done();
        if (m.type === 'error') reject(new Error(`baseline server ${this.index}: ${m.message}`));
        else resolve(m as Extract<BroadcastReply, { type: T }>);
      };
      const onExit = () => {
        done();
        reject(new Error(`baseline server ${this.index} ${this.exitReason ?? 'exited'} while asked for ${type}`));
      };
      const done = () => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(command);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_GRACE_MS);
    await this.exited;
    clearTimeout(killer);
  }
}

/** `cpuProfDir`: each server writes its V8 CPU profile there when it exits. */
export function baselineSubject(servers: number, maxPayloadBytes: number, cpuProfDir?: string): RunSubject {
  let procs: ServerProcess[] = [];
  let urls: string[] = [];
  return {
    name: 'ws baseline',
    endpoints: servers,
    setup: async (groups) => {
      const path = forkedModulePath('broadcast-server-main');
      procs = Array.from({ length: servers }, (_, i) => new ServerProcess(i, fork(path, [String(i)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: cpuProfileArgs(cpuProfDir) })));
      const online = Object.fromEntries(groups.map((g) => [g.groupId, g.online]));
      const listening = await Promise.all(procs.map((p) => p.ask({ type: 'start', host: HOST, index: p.index, servers, groups: online, maxPayloadBytes }, 'listening')));
      const peers = listening.map((l, index) => ({ index, host: HOST, port: l.relayPort }));
      await Promise.all(procs.map((p) => p.ask({ type: 'link', peers }, 'linked')));
      urls = listening.map((l) => `ws://${HOST}:${l.port}/`);
    },
    connectUrls: async (connections) => connections.map((c) => `${urls[c.endpoint]}?user=${encodeURIComponent(c.userId)}`),
    opsUrls: [],
    cursors: null,
    sample: async () => {
      const stats = await Promise.all(procs.map((p) => p.ask({ type: 'stats' }, 'stats')));
      return { cpu: { baseline: stats.reduce((n, s) => n + s.cpuSeconds, 0) }, connectionsPerServer: stats.map((s) => s.connections) };
    },
    close: async () => {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}
