/**
 * Shared setup of the client tests: a scripted peer per test, clients that record what the app
 * would see, and a helper to open a client on the peer.
 */
import WebSocket from 'ws';
import { afterEach, beforeEach } from 'vitest';
import {
  type ChatMessage,
  type ClientOptions,
  type ClientState,
  type CloseInfo,
  ImgroupClient,
} from '../../../runtime/client/index.js';
import { type PeerConnection, ScriptedPeer } from './scripted-peer.js';
import type { EventuallyOptions } from '../../support/eventually.js';

export interface Observed {
  client: ImgroupClient;
  messages: ChatMessage[];
  states: ClientState[];
  closes: CloseInfo[];
  errors: Error[];
}

export interface ClientFixture {
  /** The current test's peer. */
  readonly peer: ScriptedPeer;
  /** Replace the peer (after a test stopped it). */
  restartPeer(): Promise<void>;
  makeClient(options?: Partial<ClientOptions>): Observed;
  /** Connect the client and welcome it on the peer's `index`-th connection. */
  open(o: Observed, index?: number, heartbeatMs?: number): Promise<PeerConnection>;
}

/** Register per-test hooks that start a scripted peer and close every client afterwards. */
export function useClientFixture(): ClientFixture {
  let peer: ScriptedPeer | undefined;
  const clients: ImgroupClient[] = [];
  beforeEach(async () => {
    peer = await ScriptedPeer.start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await peer?.stop();
  });
  const fixture: ClientFixture = {
    get peer() {
      if (peer === undefined) throw new Error('no peer outside a test');
      return peer;
    },
    async restartPeer() {
      peer = await ScriptedPeer.start();
    },
    makeClient(options = {}) {
      const client = new ImgroupClient({
        url: fixture.peer.url,
        token: 'tok-1',
        WebSocket,
        reconnectMinMs: 5,
        reconnectMaxMs: 20,
        ...options,
      });
      clients.push(client);
      const o: Observed = { client, messages: [], states: [], closes: [], errors: [] };
      client.on('message', (m) => o.messages.push(m));
      client.on('state', (s) => o.states.push(s));
      client.on('close', (c) => o.closes.push(c));
      client.on('error', (e) => o.errors.push(e));
      return o;
    },
    async open(o, index = 0, heartbeatMs = 60_000) {
      const connected = o.client.connect();
      const conn = await fixture.peer.connection(index);
      conn.welcome(heartbeatMs);
      await connected;
      return conn;
    },
  };
  return fixture;
}

/** For eventually() on the client's in-process state: it changes within milliseconds, so look often (bounded below the unit test timeout, so the failure names the wait). */
export const SOON: EventuallyOptions = { intervalMs: 2, timeoutMs: 15_000 };

export const seqs = (o: Observed): number[] => o.messages.map((m) => m.seq);
