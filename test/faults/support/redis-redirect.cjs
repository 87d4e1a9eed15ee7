/**
 * Preloaded into one gate process (NODE_OPTIONS=--require this file) by the fault suite: every TCP
 * connection that process opens to a port named in IMGROUP_FAULTS_REDIS_REDIRECT ("6379=40001,…")
 * goes to the paired port instead — a TCP proxy on loopback that the test can cut. Redis Cluster
 * hands out node addresses itself (CLUSTER SLOTS), so seeds alone cannot route a process through a
 * proxy; this plays the part of the network between that one gate and Redis, nothing else.
 */
'use strict';
const net = require('node:net');

const map = new Map(
  String(process.env.IMGROUP_FAULTS_REDIS_REDIRECT || '')
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=').map(Number)),
);

function redirected(args) {
  const first = args[0];
  if (first !== null && typeof first === 'object' && map.has(Number(first.port))) {
    return [{ ...first, port: map.get(Number(first.port)) }, ...args.slice(1)];
  }
  if ((typeof first === 'number' || typeof first === 'string') && map.has(Number(first))) {
    return [map.get(Number(first)), ...args.slice(1)];
  }
  return args;
}

const createConnection = net.createConnection;
net.createConnection = function (...args) {
  return createConnection.apply(this, redirected(args));
};
net.connect = net.createConnection;
