/**
 * The imgroup client: one logical connection to the gates, kept open across gate restarts.
 *
 * Lifecycle (the `state` event reports each change):
 *   idle ──connect()──▶ connecting ──welcome──▶ open
 *                           ▲                     │ socket closed, code not terminal
 *                           └──── reconnecting ◀──┘ (jittered exponential backoff)
 *   any ──close() or a terminal close code (4500–4999)──▶ closed
 *
 * Requests (`send`, `sync`) wait in bounded pending sets and are written again with the same id
 * after a reconnect, an attempt timeout or a retryable error. The receive side (ordering, de-dup,
 * gap fill, acks) lives in `GroupReceiver`.
 */
import type {
  AckFrame,
  ChatMessage,
  ClientFrame,
  SendFrame,
  ServerFrame,
  SyncFrame,
  WelcomeFrame,
} from '../protocol/client-frames.js';
import { CloseCode, ErrorCode, ProtocolError, shouldReconnect } from '../protocol/errors.js';
import { isValidId } from '../protocol/ids.js';
import { backoffDelayMs } from '../retry/backoff.js';
import { ClientError, ClientErrorCode } from './client-errors.js';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './client-options.js';
import { dialGate, resolveToken } from './gate-dialer.js';
import { GroupReceiver } from './group-receiver.js';
import { Heartbeat } from './heartbeat.js';
import { PendingRequests } from './pending-requests.js';
import { buildSendFrame, buildSyncFrame } from './request-frames.js';
import { type RequestIdSource, createRequestIdSource } from './request-ids.js';
import { decodeServerFrame } from './server-frame-decoder.js';
import { TypedEmitter } from './typed-emitter.js';
import { READY_STATE_OPEN, type WebSocketLike } from './web-socket-like.js';

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface CloseInfo {
  /** WebSocket close code; 1006 when the connection failed or timed out without a close frame. */
  code: number;
  reason: string;
  /** Whether the client will connect again on its own. */
  willReconnect: boolean;
}

export interface ClientEvents {
  /** The gate welcomed the connection (after every (re)connect). */
  open: [welcome: WelcomeFrame];
  /** A group message, in seq order per group, each seq once. */
  message: [message: ChatMessage];
  /** A connection (or connection attempt) ended. */
  close: [info: CloseInfo];
  /** An error not tied to a pending request: an `error` frame, an unreadable frame, a token failure, an abandoned gap. */
  error: [error: ProtocolError | ClientError];
  state: [state: ClientState, previous: ClientState];
}

export interface SendResult {
  /** The id the send went out with (generated unless the app passed one). */
  id: string;
  seq: number;
  ts: number;
}

export interface SyncPage {
  messages: ChatMessage[];
  /** True when more messages exist after the last one returned. */
  more: boolean;
}

function noop(): void {}

export class ImgroupClient extends TypedEmitter<ClientEvents> {
  private readonly options: ResolvedClientOptions;
  private readonly nextId: RequestIdSource = createRequestIdSource();
  private readonly sends: PendingRequests<SendFrame, SendResult>;
  private readonly syncs: PendingRequests<SyncFrame, SyncPage>;
  private readonly receiver: GroupReceiver;
  private currentState: ClientState = 'idle';
  private socket: WebSocketLike | null = null;
  /** Bumped for every connection attempt and on close; stale async steps compare and stop. */
  private attempt = 0;
  private reconnectAttempts = 0;
  private lastWelcome: WelcomeFrame | null = null;
  private closedError: ClientError = new ClientError(ClientErrorCode.CLOSED, 'the client is closed');
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly heartbeat = new Heartbeat();

  constructor(options: ClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    const o = this.options;
    const backoff = { minMs: o.reconnectMinMs, maxMs: o.reconnectMaxMs };
    const transmit = (frame: ClientFrame) => this.transmit(frame);
    this.sends = new PendingRequests<SendFrame, SendResult>({
      kind: 'send',
      maxPending: o.maxPendingSends,
      attemptTimeoutMs: o.sendTimeoutMs,
      deadlineMs: o.sendDeadlineMs,
      backoff,
      transmit,
    });
    this.syncs = new PendingRequests<SyncFrame, SyncPage>({
      kind: 'sync',
      maxPending: o.maxPendingSyncs,
      attemptTimeoutMs: o.sendTimeoutMs,
      deadlineMs: o.syncDeadlineMs,
      backoff,
      transmit,
    });
    this.receiver = new GroupReceiver({
      maxHeldPerGroup: o.maxHeldPerGroup,
      syncPageLimit: o.syncPageLimit,
      ackDelayMs: o.ackDelayMs,
      deliver: (m) => this.emit('message', m),
      fetch: (groupId, afterSeq, limit) =>
        this.syncs.request({ type: 'sync', id: this.nextId(), groupId, afterSeq, limit }, false),
      sendAck: (groupId, seq) => this.transmit({ type: 'ack', groupId, seq } satisfies AckFrame),
      isReady: () => this.currentState === 'open',
      onGapAbandoned: (groupId, err) => this.emit('error', asClientFacingError(err, `gap fill of group ${groupId} failed`)),
    });
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The last `welcome` from a gate, or null before the first. */
  get welcome(): WelcomeFrame | null {
    return this.lastWelcome;
  }

  /** Sends not yet confirmed. */
  get pendingSends(): number {
    return this.sends.size;
  }

  /**
   * Connect (or wait for the connection in progress). Resolves with the gate's `welcome`; rejects
   * only when the client closes before that (the app's `close()` or a terminal close code).
   * Failed attempts are retried with backoff meanwhile.
   */
  connect(): Promise<WelcomeFrame> {
    if (this.currentState === 'open' && this.lastWelcome !== null) return Promise.resolve(this.lastWelcome);
    const welcomed = new Promise<WelcomeFrame>((resolve, reject) => {
      const offOpen = this.once('open', (w) => {
        offState();
        resolve(w);
      });
      const offState = this.on('state', (s) => {
        if (s !== 'closed') return;
        offOpen();
        offState();
        reject(this.closedError);
      });
    });
    if (this.currentState === 'idle' || this.currentState === 'closed') {
      this.reconnectAttempts = 0;
      this.openSocket();
    }
    return welcomed;
  }

  /**
   * Close for good: no reconnect; pending sends and syncs reject with `CLOSED`. Waiting acks are
   * written first. `connect()` may be called again later; per-group seqs are kept.
   */
  close(code: number = CloseCode.NORMAL, reason = 'closed by the app'): void {
    if (this.currentState === 'closed') return;
    if (this.currentState === 'open') this.receiver.flushAcks();
    this.attempt++;
    this.clearConnectionTimers();
    this.receiver.stop();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      detach(socket);
      closeQuietly(socket, code, reason);
    }
    this.finish(new ClientError(ClientErrorCode.CLOSED, 'the app closed the client'));
    this.emit('close', { code, reason, willReconnect: false });
  }

  /**
   * Send a message to a group. Resolves when the gate confirms (`sent`) with the message's seq.
   * Rejects with `ProtocolError` (NOT_MEMBER, BAD_FRAME, FRAME_TOO_LARGE, …) or `ClientError`
   * (TIMEOUT, TOO_MANY_PENDING, CLOSED, DUPLICATE_ID). UNAVAILABLE and RATE_LIMITED are retried.
   * Pass `id` to make the send idempotent across app restarts.
   */
  send(groupId: string, body: string, options: { id?: string } = {}): Promise<SendResult> {
    if (this.currentState === 'closed') return Promise.reject(this.closedError);
    const frame = buildSendFrame(options.id ?? this.nextId(), groupId, body);
    if (frame instanceof ProtocolError) return Promise.reject(frame);
    return this.sends.request(frame);
  }

  /**
   * Read a group's retained log: messages with seq > afterSeq, at most `limit` (default: the gate's).
   * The result goes to the caller only (not to `message` listeners).
   */
  sync(groupId: string, afterSeq: number, limit?: number): Promise<SyncPage> {
    if (this.currentState === 'closed') return Promise.reject(this.closedError);
    const frame = buildSyncFrame(this.nextId(), groupId, afterSeq, limit);
    if (frame instanceof ProtocolError) return Promise.reject(frame);
    return this.syncs.request(frame);
  }

  /** Seed the group's last seen seq (a restarted app resumes after it; older messages count as duplicates). */
  setLastSeq(groupId: string, seq: number): void {
    if (!isValidId(groupId)) throw new TypeError(`groupId ${JSON.stringify(groupId)} is not a valid id`);
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be an integer >= 0; got ${String(seq)}`);
    this.receiver.setLastSeq(groupId, seq);
  }

  /** Highest contiguous seq delivered (or seeded) for the group, or null. Persist it to resume later. */
  lastSeq(groupId: string): number | null {
    return this.receiver.lastSeq(groupId);
  }

  // ------------------------------------------------------------ connection

  private setState(next: ClientState): void {
    const previous = this.currentState;
    if (previous === next) return;
    this.currentState = next;
    this.emit('state', next, previous);
  }

  private openSocket(): void {
    const attempt = ++this.attempt;
    this.setState('connecting');
    this.connectTimer = setTimeout(
      () => this.failAttempt(attempt, `no welcome within ${this.options.connectTimeoutMs} ms`),
      this.options.connectTimeoutMs,
    );
    resolveToken(this.options.token).then(
      (token) => {
        if (attempt !== this.attempt) return;
        try {
          this.socket = this.createSocket(token);
        } catch (err) {
          this.failAttempt(attempt, `could not open a WebSocket: ${String(err)}`);
        }
      },
      (err: unknown) => {
        if (attempt !== this.attempt) return;
        this.emit('error', new ClientError(ClientErrorCode.TOKEN_FAILED, `the token function failed: ${String(err)}`));
        this.failAttempt(attempt, 'no token');
      },
    );
  }

  private createSocket(token: string): WebSocketLike {
    const { WebSocket, url, tokenTransport } = this.options;
    const socket = dialGate(WebSocket, url, token, tokenTransport);
    socket.onopen = noop;
    socket.onerror = noop; // a close event always follows
    socket.onmessage = (event) => {
      if (socket === this.socket) this.onData(event.data);
    };
    socket.onclose = (event) => {
      if (socket === this.socket) this.onSocketClosed(event.code, event.reason);
    };
    return socket;
  }

  /** The attempt failed before a welcome: drop its socket and back off. */
  private failAttempt(attempt: number, reason: string): void {
    if (attempt !== this.attempt || this.currentState !== 'connecting') return;
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      detach(socket);
      closeQuietly(socket, CloseCode.NORMAL, 'connect attempt abandoned');
    }
    this.onSocketClosed(CloseCode.ABNORMAL, reason);
  }

  private onSocketClosed(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) detach(socket);
    this.attempt++;
    this.clearConnectionTimers();
    const willReconnect = shouldReconnect(code);
    this.emit('close', { code, reason, willReconnect });
    if (this.currentState === 'closed') return; // a close listener closed the client
    if (!willReconnect) {
      this.receiver.stop();
      this.finish(new ClientError(ClientErrorCode.CLOSED, `the gate closed the connection with ${code} (${reason}); not reconnecting`, code));
      return;
    }
    this.setState('reconnecting');
    const delay = backoffDelayMs(this.reconnectAttempts++, { minMs: this.options.reconnectMinMs, maxMs: this.options.reconnectMaxMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.currentState === 'reconnecting') this.openSocket();
    }, delay);
  }

  private finish(err: ClientError): void {
    this.closedError = err;
    this.sends.rejectAll(err);
    this.syncs.rejectAll(err);
    this.setState('closed');
  }

  private clearConnectionTimers(): void {
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.reconnectTimer = null;
    this.connectTimer = null;
    this.heartbeat.stop();
  }

  private transmit(frame: ClientFrame): boolean {
    const socket = this.socket;
    if (this.currentState !== 'open' || socket === null || socket.readyState !== READY_STATE_OPEN) return false;
    try {
      socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private dropDeadSocket(reason: string): void {
    const socket = this.socket;
    if (socket === null) return;
    detach(socket);
    closeQuietly(socket, CloseCode.HEARTBEAT_TIMEOUT, 'no answer to ping');
    this.onSocketClosed(CloseCode.HEARTBEAT_TIMEOUT, reason);
  }

  // ------------------------------------------------------------ frames

  private onData(data: unknown): void {
    this.heartbeat.heard();
    const decoded = decodeServerFrame(data);
    if (!decoded.ok) {
      this.emit('error', new ClientError(ClientErrorCode.BAD_SERVER_FRAME, decoded.message));
      return;
    }
    if (decoded.frame !== null) this.onFrame(decoded.frame);
  }

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.onWelcome(frame);
        return;
      case 'msg':
        this.receiver.receive(frame);
        return;
      case 'sent':
        this.sends.settle(frame.id, { id: frame.id, seq: frame.seq, ts: frame.ts });
        return;
      case 'sync.result':
        this.syncs.settle(frame.id, { messages: frame.messages, more: frame.more });
        return;
      case 'pong':
        return;
      case 'error':
        if (frame.id !== null && (this.sends.fail(frame.id, frame.code, frame.message) || this.syncs.fail(frame.id, frame.code, frame.message))) {
          return;
        }
        this.emit('error', new ProtocolError(frame.code, frame.message));
        return;
    }
  }

  private onWelcome(welcome: WelcomeFrame): void {
    if (this.currentState !== 'connecting') return;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.reconnectAttempts = 0;
    this.lastWelcome = welcome;
    this.setState('open');
    if ((this.currentState as ClientState) !== 'open') return; // a state listener closed the client
    const pingIntervalMs = this.options.pingIntervalMs ?? welcome.heartbeatMs;
    this.heartbeat.start(pingIntervalMs, () => this.transmit({ type: 'ping' }), (reason) => this.dropDeadSocket(reason));
    this.sends.resendAll();
    this.syncs.resendAll();
    this.receiver.resume();
    this.emit('open', welcome);
  }
}

function detach(socket: WebSocketLike): void {
  socket.onopen = noop;
  socket.onmessage = noop;
  socket.onclose = noop;
  socket.onerror = noop; // not null: ws would throw an 'error' emitted without a listener
}

/** Close a socket we no longer listen to; an invalid code or reason falls back to a plain close. */
function closeQuietly(socket: WebSocketLike, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    try {
      socket.close();
    } catch {
      // the socket is unusable either way
    }
  }
}

function asClientFacingError(err: unknown, context: string): ProtocolError | ClientError {
  if (err instanceof ProtocolError || err instanceof ClientError) return err;
  return new ProtocolError(ErrorCode.INTERNAL, `${context}: ${String(err)}`);
}
