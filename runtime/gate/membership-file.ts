/**
 * The logic membership document as a file (a mounted ConfigMap on Kubernetes, a plain file in
 * local mode), re-read within one polling interval of a change.
 *
 * The directory is watched (not the file: an atomic rename or a ConfigMap symlink swap replaces
 * the file's inode, which a watch on the file would lose), and a stat poll backs the watch up
 * where events are unreliable. A changed document is parsed and validated; an invalid one is
 * logged, counted and ignored, and the current one stays in force.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type MembershipDocument, MEMBERSHIP_LIMITS, parseMembership } from '../protocol/membership.js';
import type { Logger } from '../ops/logger.js';
import { applyMembership } from './membership-apply.js';
import type { MembershipSource, MembershipSourceHooks } from './membership-source.js';

export interface MembershipFileOptions extends MembershipSourceHooks {
  path: string;
  pollMs: number;
  /** Watch the directory for events (default true); polling alone when false. */
  watch?: boolean;
}

interface FileStamp {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export class MembershipFile implements MembershipSource {
  private current: MembershipDocument | null = null;
  private lastText: string | null = null;
  private lastError: string | null = null;
  private stamp: FileStamp | null = null;
  private watcher: FSWatcher | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly opts: MembershipFileOptions) {
    this.log = opts.log.child({ component: 'membership-file', path: opts.path });
  }

  /** The document in force (null until a valid one was read). */
  get document(): MembershipDocument | null {
    return this.current;
  }

  /** Read the file once, then watch it. A missing or invalid file is logged, not thrown. */
  async start(): Promise<void> {
    await this.reload();
    if (this.stopped) return;
    if (this.opts.watch !== false) this.watch();
    this.pollTimer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.pollTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.watcher?.close();
    this.watcher = null;
  }

  /** Re-read now (watch events and polls call this); concurrent calls coalesce. */
  reload(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.readLoop().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async readLoop(): Promise<void> {
    do {
      this.again = false;
      await this.readOnce();
    } while (this.again && !this.stopped);
  }

  private async readOnce(): Promise<void> {
    let text: string;
    try {
      const s = await stat(this.opts.path);
      this.stamp = { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs };
      if (s.size > MEMBERSHIP_LIMITS.maxDocumentBytes) {
        this.fail(`membership file is ${s.size} bytes; at most ${MEMBERSHIP_LIMITS.maxDocumentBytes} are read`);
        return;
      }
      text = await readFile(this.opts.path, 'utf8');
    } catch (err) {
      this.stamp = null;
      this.fail(`membership file cannot be read: ${(err as Error).message}`);
      return;
    }
    if (this.stopped || text === this.lastText) return;
    this.lastText = text;
    const parsed = parseMembership(text);
    if (!parsed.ok) {
      this.fail(parsed.error);
      return;
    }
    this.lastError = null;
    this.current = applyMembership(this.current, parsed.doc, (d) => this.opts.onChange(d), this.log);
  }

  private fail(message: string): void {
    // The same failure seen again (by the next poll) is not a new event.
    if (message === this.lastError) return;
    this.lastError = message;
    this.log.error({ error: message, keeping: this.current?.version ?? null }, 'invalid membership document; keeping the current one');
    this.opts.onError?.(message);
  }

  private watch(): void {
    try {
      const name = basename(this.opts.path);
      this.watcher = watch(dirname(this.opts.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name || file.startsWith('..')) void this.reload();
      });
      this.watcher.on('error', (err) => {
        this.log.warn({ err: err.message }, 'watching the membership directory failed; polling only');
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot watch the membership directory; polling only');
    }
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.reading) return;
    let s: FileStamp | null;
    try {
      const st = await stat(this.opts.path);
      s = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
    } catch {
      s = null;
    }
    const before = this.stamp;
    const same = s !== null && before !== null && s.ino === before.ino && s.size === before.size && s.mtimeMs === before.mtimeMs && s.ctimeMs === before.ctimeMs;
    if (!same && !(s === null && before === null && this.lastError !== null)) await this.reload();
  }
}
