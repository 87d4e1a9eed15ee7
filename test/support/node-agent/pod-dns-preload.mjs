/**
 * Preloaded into the node children of the test node agent (NODE_OPTIONS=--import=<this file>):
 * resolves pod DNS names under headless Services, `<hostname>.<subdomain>.<namespace>.svc` (and
 * `.svc.cluster.local`), from the hosts files the agents keep (IMGROUP_TEST_POD_HOSTS_DIR/*.json,
 * each `{ "<name>": "<ip>" }`), read afresh on every lookup so a pod's new address is seen at
 * once. Every other name goes to the system resolver. Covers dns.lookup and dns.promises.lookup —
 * what net.connect (and so ioredis) uses; a name the files do not hold is ENOTFOUND, as cluster
 * DNS answers for a pod that does not exist. Plain JavaScript: node loads it before any TypeScript.
 */
import dns from 'node:dns';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.IMGROUP_TEST_POD_HOSTS_DIR;
const POD_NAME = /^[^.]+\.[^.]+\.[^.]+\.svc(?:\.cluster\.local)?\.?$/;

function podAddress(name) {
  const wanted = name.replace(/\.$/, '').replace(/\.cluster\.local$/, '');
  let files = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return null;
  }
  for (const file of files) {
    try {
      const hosts = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      if (typeof hosts[wanted] === 'string') return hosts[wanted];
    } catch {
      // A file being replaced or unreadable: the next lookup reads it again.
    }
  }
  return null;
}

function notFound(hostname) {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname });
}

if (dir) {
  const lookup = dns.lookup;
  dns.lookup = function podLookup(hostname, options, callback) {
    const cb = typeof options === 'function' ? options : callback;
    const opts = typeof options === 'function' || options === undefined ? {} : typeof options === 'number' ? { family: options } : options;
    if (typeof hostname !== 'string' || !POD_NAME.test(hostname)) return lookup.call(dns, hostname, options, callback);
    const ip = podAddress(hostname);
    process.nextTick(() => {
      if (!ip) cb(notFound(hostname));
      else if (opts.all) cb(null, [{ address: ip, family: 4 }]);
      else cb(null, ip, 4);
    });
    return {};
  };
  const promisesLookup = dns.promises.lookup;
  dns.promises.lookup = async function podPromisesLookup(hostname, options) {
    if (typeof hostname !== 'string' || !POD_NAME.test(hostname)) return promisesLookup.call(dns.promises, hostname, options);
    const ip = podAddress(hostname);
    if (!ip) throw notFound(hostname);
    const all = typeof options === 'object' && options !== null && options.all;
    return all ? [{ address: ip, family: 4 }] : { address: ip, family: 4 };
  };
}
