import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MembershipFile } from '../../../runtime/gate/membership-file.js';
import { buildMembership, type MembershipDocument, serializeMembership } from '../../../runtime/protocol/membership.js';
import { ChangeSignal } from '../../support/change-signal.js';

const log = pino({ level: 'silent' });

function doc(...ids: string[]): MembershipDocument {
  return buildMembership(ids.map((id, i) => ({ id, url: `ws://127.0.0.1:${8180 + i}` })));
}

/** Collects what the watcher reports; `next*` wait for the next event (bounded by the test timeout). */
class Observer {
  docs: MembershipDocument[] = [];
  errors: string[] = [];
  private readonly signal = new ChangeSignal();
  onChange = (d: MembershipDocument) => {
    this.docs.push(d);
    this.signal.notify();
  };
  onError = (m: string) => {
    this.errors.push(m);
    this.signal.notify();
  };
  until(cond: () => boolean): Promise<void> {
    return this.signal.until(cond);
  }
}

let dir: string;
let path: string;
let file: MembershipFile | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgroup-membership-'));
  path = join(dir, 'membership.json');
});
afterEach(() => {
  file?.stop();
  file = null;
  rmSync(dir, { recursive: true, force: true });
});

function atomicWrite(text: string): void {
  const tmp = join(dir, `.membership.json.${Math.random().toString(36).slice(2)}`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

async function start(o: Observer, watch = true): Promise<MembershipFile> {
  file = new MembershipFile({ path, pollMs: 50, watch, onChange: o.onChange, onError: o.onError, log });
  await file.start();
  return file;
}

describe('MembershipFile', () => {
  it('reads the document at start', async () => {
    writeFileSync(path, serializeMembership(doc('logic-0', 'logic-1')));
    const o = new Observer();
    const f = await start(o);
    expect(o.docs.map((d) => d.members.length)).toEqual([2]);
    expect(f.document?.version).toBe(doc('logic-0', 'logic-1').version);
  });

  it('applies an atomically renamed replacement', async () => {
    writeFileSync(path, serializeMembership(doc('logic-0')));
    const o = new Observer();
    await start(o);
    atomicWrite(serializeMembership(doc('logic-0', 'logic-1')));
    await o.until(() => o.docs.length === 2);
    expect(o.docs[1]?.members.map((m) => m.id)).toEqual(['logic-0', 'logic-1']);
    // And a second rename after the first (the watch survives the inode change).
    atomicWrite(serializeMembership(doc('logic-1')));
    await o.until(() => o.docs.length === 3);
    expect(o.docs[2]?.members.map((m) => m.id)).toEqual(['logic-1']);
  });

  it('applies an in-place rewrite', async () => {
    writeFileSync(path, serializeMembership(doc('logic-0')));
    const o = new Observer();
    await start(o);
    writeFileSync(path, serializeMembership(doc('logic-2')));
    await o.until(() => o.docs.length === 2);
    expect(o.docs[1]?.members.map((m) => m.id)).toEqual(['logic-2']);
  });

  it('notices changes by polling alone', async () => {
    writeFileSync(path, serializeMembership(doc('logic-0')));
    const o = new Observer();
    await start(o, false);
    atomicWrite(serializeMembership(doc('logic-0', 'logic-1', 'logic-2')));
    await o.until(() => o.docs.length === 2);
    expect(o.docs[1]?.members).toHaveLength(3);
  });

  const invalid: Array<[string, string]> = [
    ['not JSON', '{"version":'],
    ['no members', '{"version":"v2"}'],
    ['a duplicate id', JSON.stringify({ version: 'v2', members: [{ id: 'a', url: 'ws://x' }, { id: 'a', url: 'ws://y' }] })],
    ['an http url', JSON.stringify({ version: 'v2', members: [{ id: 'a', url: 'http://x' }] })],
    ['an array', '[]'],
  ];
  it.each(invalid)('keeps the current document when the new one is invalid (%s), then applies the next valid one', async (_name, text) => {
    writeFileSync(path, serializeMembership(doc('logic-0')));
    const o = new Observer();
    const f = await start(o);
    atomicWrite(text);
    await o.until(() => o.errors.length === 1);
    expect(f.document?.members.map((m) => m.id)).toEqual(['logic-0']);
    expect(o.docs).toHaveLength(1);
    atomicWrite(serializeMembership(doc('logic-5')));
    await o.until(() => o.docs.length === 2);
    expect(f.document?.members.map((m) => m.id)).toEqual(['logic-5']);
  });

  it('starts without a file, reports it once, and applies the file once it appears', async () => {
    const o = new Observer();
    const f = await start(o);
    expect(f.document).toBeNull();
    expect(o.errors).toHaveLength(1);
    atomicWrite(serializeMembership(doc('logic-0')));
    await o.until(() => o.docs.length === 1);
    expect(o.errors).toHaveLength(1);
  });

  it('does not re-apply a rewrite that keeps the version', async () => {
    const d = doc('logic-0');
    writeFileSync(path, serializeMembership(d));
    const o = new Observer();
    await start(o);
    // Same version, different formatting; then a real change to have something to wait for.
    atomicWrite(JSON.stringify(d));
    atomicWrite(serializeMembership(doc('logic-9')));
    await o.until(() => o.docs.length >= 2);
    expect(o.docs.map((x) => x.members[0]?.id)).toEqual(['logic-0', 'logic-9']);
  });
});
