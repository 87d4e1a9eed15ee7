/**
 * The `imgroup` executable: one binary, one subcommand per process kind.
 * This is the only place that reads process.argv and process.env; subcommands get them passed.
 */
import { ConfigError } from '../config/options.js';

const USAGE = `usage: imgroup <command> [flags]

commands:
  gate            run a gate: client WebSockets, presence, routing, admin API
  logic           run a logic node: group messages, fan-out, offline delivery
  operator        run the Kubernetes operator (ImGroupCluster reconcile, membership, leader Lease)
  dev             start a whole local cluster on loopback (what \`make run\` does)
  bench           start a cluster (or use --target), load it with real clients, report
                  deliveries/s, latency, Redis commands per message, lost messages
  token <userId>  print a client token signed with IMGROUP_JWT_SECRET [--ttl seconds]
  config-table    print the configuration reference (Markdown) of every command

\`imgroup <command> --help\` lists a command's flags; every flag has an IMGROUP_* environment
variable (\`imgroup config-table\` prints them all as Markdown).`;

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== undefined && rest.some((a) => a === '--help' || a === '-h')) {
    const { commandHelp } = await import('./command-help.js');
    const help = commandHelp(command);
    if (help !== null) {
      process.stdout.write(help);
      return;
    }
  }
  switch (command) {
    case 'gate': {
      const { runGate } = await import('../gate/main.js');
      return runGate(rest, env);
    }
    case 'logic': {
      const { runLogic } = await import('../logic/main.js');
      return runLogic(rest, env);
    }
    case 'operator': {
      const { runOperator } = await import('../../operator/main.js');
      return runOperator(rest, env);
    }
    case 'dev': {
      const { runDev } = await import('../dev/dev-command.js');
      return runDev(rest, env);
    }
    case 'bench': {
      const { runBench } = await import('../bench/bench-command.js');
      return runBench(rest, env);
    }
    case 'token': {
      const { runToken } = await import('./token-command.js');
      process.stdout.write(`${await runToken(rest, env)}\n`);
      return;
    }
    case 'config-table': {
      const { configReference } = await import('./config-reference.js');
      process.stdout.write(configReference());
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new ConfigError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  }
}

// Started by a supervisor with an IPC lifeline (runtime/dev/local-process.ts): when the
// supervisor dies, however it dies, shut down as on SIGTERM instead of living on as an orphan.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`imgroup: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`imgroup: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
