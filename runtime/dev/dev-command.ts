/** `imgroup dev`: start the local cluster, print how to use it, stop everything on Ctrl-C. */
import { join } from 'node:path';
import { ConfigError, resolveOptions } from '../config/options.js';
import { readRedisTls, RedisTlsError } from '../redis/redis-tls.js';
import { childSettings } from './child-settings.js';
import { DEV_OPTIONS } from './dev-options.js';
import { devBanner, type DevClusterOptions, startDevCluster } from './dev-cluster.js';

export async function runDev(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const { options } = resolveOptions(DEV_OPTIONS, argv, env);
  if (options.redisTlsDir !== undefined) checkTlsDir(options.redisTlsDir);
  const passed = childSettings(env);
  const opts: DevClusterOptions = { ...options, extraEnv: passed.env };
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (passed.shown.length > 0) say(`passing to every gate and logic node: ${passed.shown.join(' ')}`);
  const cluster = await startDevCluster(opts, env, say);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping gates, logic nodes and Redis…`);
    await cluster.stop();
    say('stopped; temporary data removed.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  for (const p of [...cluster.gates, ...cluster.logic]) {
    p.onExit((code, signal) => {
      if (!stopping) say(`warning: ${p.name} exited (code ${code}, signal ${signal}); see ${cluster.dataDir}/${p.name}.log`);
    });
  }
  say(await devBanner(cluster, opts));
}

/** The three files of --redis-tls-dir are there and usable, before anything starts (exit 2 otherwise). */
function checkTlsDir(dir: string): void {
  const name = (file: string) => `--redis-tls-dir (IMGROUP_DEV_REDIS_TLS_DIR): ${file}`;
  try {
    readRedisTls({ caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, { ca: name('ca.crt'), cert: name('tls.crt'), key: name('tls.key') });
  } catch (err) {
    if (err instanceof RedisTlsError) throw new ConfigError(err.message);
    throw err;
  }
}
