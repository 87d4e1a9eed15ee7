import { describe, expect, it } from 'vitest';
import { parseReplicationInfo } from '../../../../operator/redis/replication-info.js';

describe('parseReplicationInfo', () => {
  it.each([
    ['a master', '# Replication\r\nrole:master\r\nconnected_slaves:1\r\n', { role: 'master', linkUp: null, syncing: false, linkDownSeconds: null }],
    ['a replica in sync', 'role:slave\r\nmaster_link_status:up\r\nmaster_sync_in_progress:0\r\n', { role: 'replica', linkUp: true, syncing: false, linkDownSeconds: null }],
    ['a replica never connected', 'role:slave\r\nmaster_link_status:down\r\nmaster_sync_in_progress:0\r\nmaster_link_down_since_seconds:-1\r\n', { role: 'replica', linkUp: false, syncing: false, linkDownSeconds: -1 }],
    ['a replica loading', 'role:slave\r\nmaster_link_status:down\r\nmaster_sync_in_progress:1\r\nmaster_link_down_since_seconds:3\r\n', { role: 'replica', linkUp: false, syncing: true, linkDownSeconds: 3 }],
    ['garbage', 'role:slave\r\nmaster_link_status:maybe\r\nmaster_link_down_since_seconds:12abc\r\n', { role: 'replica', linkUp: null, syncing: false, linkDownSeconds: null }],
    ['not text', 42, { role: 'unknown', linkUp: null, syncing: false, linkDownSeconds: null }],
  ])('%s', (_name, reply, expected) => {
    expect(parseReplicationInfo(reply)).toEqual(expected);
  });
});
