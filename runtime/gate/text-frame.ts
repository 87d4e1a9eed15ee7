/**
 * A complete WebSocket text frame as a server sends it (RFC 6455 §5.2): FIN set, opcode 1, no
 * mask, no extensions (the gate never negotiates permessage-deflate). Server frames are identical
 * for every connection, so a message fanned out to many connections is framed once and the same
 * bytes are written to each socket — no per-connection framing, one buffer per write.
 */

const FIN_TEXT = 0x81;
const LEN16 = 126;
const LEN64 = 127;

/** Header plus payload in one buffer. */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const headerBytes = n < LEN16 ? 2 : n < 0x10000 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerBytes + n);
  out[0] = FIN_TEXT;
  if (headerBytes === 2) {
    out[1] = n;
  } else if (headerBytes === 4) {
    out[1] = LEN16;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = LEN64;
    // Payloads are capped far below 2^53 (maxFrameBytes); the high 16 bits stay zero.
    out.writeUInt16BE(0, 2);
    out.writeUIntBE(n, 4, 6);
  }
  payload.copy(out, headerBytes);
  return out;
}
