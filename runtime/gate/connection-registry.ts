/**
 * The client connections held by this gate, by connection id and by user id. A user usually has
 * one or two devices, so the per-user entry is a single connection or a small array rather than
 * a Set.
 */

export interface RegisteredConnection {
  readonly userId: string;
  readonly connId: string;
}

export class ConnectionRegistry<C extends RegisteredConnection> {
  private readonly byConn = new Map<string, C>();
  private readonly byUser = new Map<string, C | C[]>();

  get size(): number {
    return this.byConn.size;
  }

  /** Distinct users with at least one connection. */
  get users(): number {
    return this.byUser.size;
  }

  add(conn: C): void {
    this.byConn.set(conn.connId, conn);
    const existing = this.byUser.get(conn.userId);
    if (existing === undefined) this.byUser.set(conn.userId, conn);
    else if (Array.isArray(existing)) existing.push(conn);
    else this.byUser.set(conn.userId, [existing, conn]);
  }

  /** Remove; false when it was not registered (removal is idempotent). */
  remove(conn: C): boolean {
    if (this.byConn.get(conn.connId) !== conn) return false;
    this.byConn.delete(conn.connId);
    const existing = this.byUser.get(conn.userId);
    if (existing === conn) {
      this.byUser.delete(conn.userId);
    } else if (Array.isArray(existing)) {
      const rest = existing.filter((c) => c !== conn);
      this.byUser.set(conn.userId, rest.length === 1 ? (rest[0] as C) : rest);
    }
    return true;
  }

  byId(connId: string): C | undefined {
    return this.byConn.get(connId);
  }

  /** How many connections the user holds on this gate. */
  countForUser(userId: string): number {
    const entry = this.byUser.get(userId);
    if (entry === undefined) return 0;
    return Array.isArray(entry) ? entry.length : 1;
  }

  /** The user's connections on this gate; calls `fn` for each, returns how many. */
  forUser(userId: string, fn: (conn: C) => void): number {
    const entry = this.byUser.get(userId);
    if (entry === undefined) return 0;
    if (!Array.isArray(entry)) {
      fn(entry);
      return 1;
    }
    // Copy: `fn` may close (and so unregister) a connection.
    const list = [...entry];
    for (const c of list) fn(c);
    return list.length;
  }

  all(): C[] {
    return [...this.byConn.values()];
  }
}
