/**
 * A full garbage collection in another Node process, on demand, through its inspector
 * (`--inspect=127.0.0.1:0`, loopback only): `HeapProfiler.collectGarbage`. `imgroup bench --idle`
 * uses it on the gate it started, so the heap figure it reads afterwards counts live objects,
 * not garbage that no collection has reclaimed yet.
 */
import WebSocket from 'ws';

/** The inspector's WebSocket URL from what Node prints on stderr at start, or null. */
export function inspectorUrlFromLog(text: string): string | null {
  const m = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+)/.exec(text);
  return m ? (m[1] as string) : null;
}

const TIMEOUT_MS = 30_000;

/** Run `rounds` full collections; resolves false when the inspector cannot be reached. */
export function collectGarbage(url: string, rounds = 2): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let id = 0;
    const done = (ok: boolean) => {
      clearTimeout(timer);
      ws.removeAllListeners('message');
      ws.on('error', () => undefined);
      ws.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), TIMEOUT_MS);
    const next = () => ws.send(JSON.stringify({ id: ++id, method: 'HeapProfiler.collectGarbage' }));
    ws.on('open', next);
    ws.on('message', (data) => {
      let reply: { id?: unknown; error?: unknown };
      try {
        reply = JSON.parse(String(data)) as typeof reply;
      } catch {
        return;
      }
      if (reply.id !== id) return;
      if (reply.error) return done(false);
      if (id < rounds) next();
      else done(true);
    });
    ws.on('error', () => done(false));
  });
}
