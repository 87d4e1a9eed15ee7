/**
 * The part of a WebSocket the client uses, typed structurally so that both the `ws` package (Node)
 * and the browser's `WebSocket` fit without importing either.
 */

/** Lets a handler typed with a richer event (ws's `MessageEvent`, the DOM's) be assigned here. */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

export interface MessageEventLike {
  data: unknown;
}

export interface CloseEventLike {
  code: number;
  reason: string;
}

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<MessageEventLike> | null;
  onclose: Handler<CloseEventLike> | null;
  onerror: Handler<unknown> | null;
}

/** Options some implementations accept as a third argument (`ws` does; browsers do not). */
export interface WebSocketConstructorOptions {
  headers?: Record<string, string>;
}

export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[], options?: WebSocketConstructorOptions): WebSocketLike;
}

/** `readyState` value of an open socket (the same in every implementation). */
export const READY_STATE_OPEN = 1;
