/**
 * The admin HTTP API on the client port (see runtime/protocol/admin.ts for the routes and bodies).
 * A flat series of guards, each with its own status: unknown route 404, missing or wrong token
 * 401 (timing-safe compare), wrong method 405, bad id 400, over the gate-wide rate 429, body too
 * large 413, bad body 400; then the op, whose ProtocolError codes map to their HTTP status
 * (UNAVAILABLE → 503).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { adminError, validateMembersChange, validatePostMessage } from '../protocol/admin.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { ID_RULE, isValidId } from '../protocol/ids.js';
import { matchesSecret, secretDigest } from '../auth/secret-compare.js';
import type { PresenceReader } from '../presence/presence.js';
import type { Logger } from '../ops/logger.js';
import type { ThrottledLog } from '../ops/throttled-log.js';
import type { GateMetrics } from './gate-metrics.js';
import { TokenBucket } from './rate-limiter.js';
import type { Router } from './router.js';

export interface AdminApiOptions {
  adminToken: string;
  maxAdminBodyBytes: number;
  maxBodyBytes: number;
  maxAdminIds: number;
  adminRatePerSec: number;
}

type RouteName = 'members' | 'messages' | 'presence';

interface Route {
  name: RouteName;
  /** The group or user id from the path, not yet validated. */
  id: string;
  methods: readonly string[];
}

function matchRoute(path: string): Route | null {
  const parts = path.split('/');
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== 'v1') return null;
  const [, , kind, id, leaf] = parts as [string, string, string, string, string];
  if (id.length === 0) return null;
  if (kind === 'groups' && leaf === 'members') return { name: 'members', id, methods: ['GET', 'PUT'] };
  if (kind === 'groups' && leaf === 'messages') return { name: 'messages', id, methods: ['POST'] };
  if (kind === 'users' && leaf === 'presence') return { name: 'presence', id, methods: ['GET'] };
  return null;
}

type BodyRead = { ok: true; value: unknown } | { ok: false; code: ErrorCode; message: string };

export class AdminApi {
  private readonly tokenDigest: Buffer;
  private readonly bucket: TokenBucket;
  private readonly log: Logger;

  constructor(
    private readonly opts: AdminApiOptions,
    private readonly router: Router,
    private readonly presence: PresenceReader,
    private readonly metrics: GateMetrics,
    log: Logger,
    /** Refused requests (401) are logged here, a few lines however many there are. */
    private readonly refusals: ThrottledLog,
  ) {
    this.tokenDigest = secretDigest(opts.adminToken);
    this.bucket = new TokenBucket({ ratePerSec: opts.adminRatePerSec, burst: opts.adminRatePerSec }, Date.now());
    this.log = log.child({ component: 'admin-api' });
  }

  /** Serve one HTTP request. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.serve(req, res).catch((err: unknown) => {
      this.log.error({ err }, 'admin request failed unexpectedly');
      this.error(res, 'unknown', ErrorCode.INTERNAL, 'internal error');
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string;
    const route = matchRoute(path);
    if (!route) {
      this.error(res, 'unknown', ErrorCode.NOT_FOUND, `no route ${req.method} ${path.slice(0, 200)}; see the admin API in the README`);
      return;
    }
    if (!this.authorized(req.headers.authorization)) {
      res.setHeader('www-authenticate', 'Bearer');
      this.refusals.event('admin_unauthorized', { route: route.name, remote: req.socket.remoteAddress }, 'admin request refused with HTTP 401');
      this.error(res, route.name, ErrorCode.UNAUTHORIZED, 'send Authorization: Bearer <IMGROUP_ADMIN_TOKEN>');
      return;
    }
    const method = req.method ?? 'GET';
    if (!route.methods.includes(method)) {
      res.setHeader('allow', route.methods.join(', '));
      this.error(res, route.name, ErrorCode.METHOD_NOT_ALLOWED, `${method} is not allowed here; use ${route.methods.join(' or ')}`);
      return;
    }
    const id = decodeSegment(route.id);
    if (!isValidId(id)) {
      this.error(res, route.name, ErrorCode.BAD_FRAME, `${route.name === 'presence' ? 'user' : 'group'} id in the path must be ${ID_RULE}`);
      return;
    }
    if (!this.bucket.take(Date.now())) {
      this.error(res, route.name, ErrorCode.RATE_LIMITED, `more than ${this.opts.adminRatePerSec} admin requests per second on this gate; retry later`);
      return;
    }
    try {
      await this.dispatch(route.name, method, id, req, res);
    } catch (err) {
      if (err instanceof ProtocolError) {
        if (err.code === ErrorCode.UNAVAILABLE) res.setHeader('retry-after', '1');
        this.error(res, route.name, err.code, err.message);
        return;
      }
      throw err;
    }
  }

  private async dispatch(name: RouteName, method: string, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (name === 'presence') {
      const lookup = await this.presence.lookup([id]).catch((err: Error) => {
        throw new ProtocolError(ErrorCode.UNAVAILABLE, `presence cannot be read from Redis: ${err.message}`);
      });
      const devices = (lookup.devices.get(id) ?? []).map((d) => ({ gate: d.gate, connId: d.connId }));
      this.send(res, name, 200, { userId: id, online: devices.length > 0, devices });
      return;
    }
    if (name === 'members' && method === 'GET') {
      const r = await this.router.request(id, { op: 'members.get', groupId: id });
      this.send(res, name, 200, { groupId: id, members: r.members });
      return;
    }
    const body = await this.readJson(req);
    if (!body.ok) {
      if (body.code === ErrorCode.FRAME_TOO_LARGE) res.setHeader('connection', 'close');
      this.error(res, name, body.code, body.message);
      return;
    }
    if (name === 'members') {
      const change = validateMembersChange(body.value, this.opts.maxAdminIds);
      if (!change.ok) {
        this.error(res, name, ErrorCode.BAD_FRAME, change.message);
        return;
      }
      const r = await this.router.request(id, { op: 'members.update', groupId: id, add: change.value.add, remove: change.value.remove });
      this.send(res, name, 200, { groupId: id, members: r.members });
      return;
    }
    const post = validatePostMessage(body.value, this.opts.maxBodyBytes);
    if (!post.ok) {
      this.error(res, name, isOversizedBody(body.value, this.opts.maxBodyBytes) ? ErrorCode.FRAME_TOO_LARGE : ErrorCode.BAD_FRAME, post.message);
      return;
    }
    // A gate-generated client id makes the post idempotent across re-sends to a new owner.
    const r = await this.router.request(id, { op: 'post', groupId: id, from: post.value.from, clientId: randomUUID(), body: post.value.body });
    this.send(res, name, 200, { seq: r.seq });
  }

  private authorized(header: string | undefined): boolean {
    if (typeof header !== 'string') return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return false;
    return matchesSecret(m[1] as string, this.tokenDigest);
  }

  /** Read a JSON body of at most maxAdminBodyBytes. */
  private readJson(req: IncomingMessage): Promise<BodyRead> {
    const max = this.opts.maxAdminBodyBytes;
    const tooLarge: BodyRead = { ok: false, code: ErrorCode.FRAME_TOO_LARGE, message: `request body is larger than ${max} bytes` };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      return Promise.resolve(tooLarge);
    }
    return new Promise<BodyRead>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (r: BodyRead) => {
        if (done) return;
        done = true;
        resolve(r);
      };
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > max) {
          chunks.length = 0;
          finish(tooLarge);
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        try {
          finish({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch {
          finish({ ok: false, code: ErrorCode.BAD_FRAME, message: 'request body is not valid JSON' });
        }
      });
      req.on('error', () => finish({ ok: false, code: ErrorCode.BAD_FRAME, message: 'request body could not be read' }));
    });
  }

  private error(res: ServerResponse, route: string, code: ErrorCode, message: string): void {
    const e = adminError(code, message);
    this.send(res, route, e.status, e.body);
  }

  private send(res: ServerResponse, route: string, status: number, body: unknown): void {
    this.metrics.adminRequests.inc({ route, status: String(status) });
    if (res.headersSent || res.writableEnded) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }
}

/** Percent-decoded path segment; an undecodable one stays as it is (and fails id validation). */
function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A post whose only defect is a body over the message limit gets 413, not 400. */
function isOversizedBody(value: unknown, maxBodyBytes: number): boolean {
  const body = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).body : undefined;
  return typeof body === 'string' && Buffer.byteLength(body, 'utf8') > maxBodyBytes;
}
