/**
 * One probe attempt, as the kubelet's prober makes it, against the pod's own address:
 *   - httpGet: GET scheme://host:port/path (host defaults to the pod IP; HTTPS certificates are
 *     not verified, as the kubelet does not); success is a status 200..399.
 *   - tcpSocket: a TCP connection opens.
 *   - grpc: approximated by a TCP connection to the port (no grpc client here).
 *   - exec: a command that runs `redis-cli … ping` (directly or inside `sh -c`) is approximated by
 *     a RESP PING to the pod IP (port from -p, default 6379; password from -a/--pass or the
 *     container's REDISCLI_AUTH): success when the answer is +PONG. Any other command runs on the
 *     host with the container's env and must exit 0 — it runs outside any pod, so it only suits
 *     commands that need nothing of the container's filesystem.
 * Every attempt is bounded by the probe's timeoutSeconds (default 1 s).
 */
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';

export interface ProbeTarget {
  podIP: string;
  ports: readonly V1ContainerPort[];
  env: Readonly<Record<string, string>>;
  cwd: string;
}

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

/** A probe's timing with the kubelet's defaults. */
export function probeTiming(p: V1Probe): { initialDelayMs: number; periodMs: number; timeoutMs: number; successThreshold: number; failureThreshold: number } {
  return {
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: (p.periodSeconds ?? 10) * 1000,
    timeoutMs: (p.timeoutSeconds ?? 1) * 1000,
    successThreshold: p.successThreshold ?? 1,
    failureThreshold: p.failureThreshold ?? 3,
  };
}

/** A named or numbered container port. */
export function resolvePort(port: number | string | undefined, ports: readonly V1ContainerPort[]): number | null {
  if (typeof port === 'number') return port;
  if (port === undefined) return null;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort ?? null;
}

export async function runProbe(probe: V1Probe, target: ProbeTarget): Promise<boolean> {
  const timeoutMs = probeTiming(probe).timeoutMs;
  try {
    if (probe.httpGet) {
      const port = resolvePort(probe.httpGet.port, target.ports);
      if (port === null) return false;
      return await httpProbe(probe.httpGet.scheme === 'HTTPS', probe.httpGet.host || target.podIP, port, probe.httpGet.path ?? '/', probe.httpGet.httpHeaders ?? [], timeoutMs);
    }
    if (probe.tcpSocket) {
      const port = resolvePort(probe.tcpSocket.port, target.ports);
      return port !== null && (await tcpProbe(probe.tcpSocket.host || target.podIP, port, timeoutMs));
    }
    if (probe.grpc) return await tcpProbe(target.podIP, probe.grpc.port, timeoutMs);
    if (probe.exec?.command?.length) {
      const ping = redisCliPing(probe.exec.command, target);
      if (ping) return await redisPing(target.podIP, ping.port, ping.password, timeoutMs);
      return await execProbe(probe.exec.command, target, timeoutMs);
    }
    return false;
  } catch {
    return false;
  }
}

function httpProbe(tls: boolean, host: string, port: number, path: string, headers: { name: string; value: string }[], timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = tls ? httpsRequest : httpRequest;
    const req = request(
      { host, port, path, method: 'GET', timeout: timeoutMs, headers: Object.fromEntries(headers.map((h) => [h.name, h.value])), ...(tls ? { rejectUnauthorized: false } : {}) },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The port and password of a `redis-cli … ping` command, or null when the command is something else. */
export function redisCliPing(command: readonly string[], target: Pick<ProbeTarget, 'env'>): { port: number; password: string | undefined } | null {
  const words = command.flatMap((part) => part.split(/\s+/)).filter((w) => w.length > 0);
  const cli = words.findIndex((w) => w === 'redis-cli' || w.endsWith('/redis-cli'));
  if (cli < 0 || !words.slice(cli + 1).some((w) => w.toLowerCase() === 'ping')) return null;
  let port = 6379;
  let password = target.env.REDISCLI_AUTH;
  for (let i = cli + 1; i < words.length; i++) {
    const w = words[i];
    const next = words[i + 1];
    if (w === '-p' && next) port = Number(next) || port;
    if ((w === '-a' || w === '--pass') && next) password = expandShellVar(next, target.env);
  }
  return { port, password };
}

/** `$VAR`, `${VAR}` or `"$VAR"` from the container env (what `sh -c` would have done). */
function expandShellVar(word: string, env: Readonly<Record<string, string>>): string {
  const m = /^["']?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?["']?$/.exec(word);
  return m ? (env[m[1] as string] ?? '') : word.replace(/^["']|["']$/g, '');
}

function redisPing(host: string, port: number, password: string | undefined, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    let buffer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => {
      const commands = password ? [['AUTH', password], ['PING']] : [['PING']];
      socket.write(commands.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''));
    });
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\r\n').filter((l) => l.length > 0);
      if (lines.length < (password ? 2 : 1)) return;
      done(lines[lines.length - 1] === '+PONG' && (!password || lines[0] === '+OK'));
    });
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

function execProbe(command: readonly string[], target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  const [file, ...args] = command;
  if (!file) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...target.env }, cwd: target.cwd, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err) => resolve(!err));
  });
}
