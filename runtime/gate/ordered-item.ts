/**
 * One message as the gate writes it to client connections: serialised and framed once
 * (`JSON.stringify(msgFrame(m))`, UTF-8, WebSocket text frame), the same bytes shared by every
 * connection it goes to, whichever path brought it (a `deliver` push or a gap fill).
 */
import { type ChatMessage, msgFrame } from '../protocol/client-frames.js';
import type { DeliveryPath } from '../protocol/internal-frames.js';
import { textFrame } from './text-frame.js';

export interface OrderedItem {
  seq: number;
  /** UTF-8 of `JSON.stringify(msgFrame(m))`, encoded once. */
  frame: Buffer;
  /** `frame` as a complete WebSocket text frame (`textFrame`), written as it is to every connection. */
  wire: Buffer;
  path: DeliveryPath;
}

export function orderedItem(m: ChatMessage, path: DeliveryPath): OrderedItem {
  const frame = Buffer.from(JSON.stringify(msgFrame(m)), 'utf8');
  return { seq: m.seq, frame, wire: textFrame(frame), path };
}
