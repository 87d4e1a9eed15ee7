/** `imgroup dev`: start the local cluster, print how to use it, stop everything on Ctrl-C. */
import { resolveOptions } from '../config/options.js';
import { childSettings } from './child-settings.js';
import { DEV_OPTIONS } from './dev-options.js';
import { devBanner, type DevClusterOptions, startDevCluster } from './dev-cluster.js';

export async function runDev(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const { options } = resolveOptions(DEV_OPTIONS, argv, env);
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
