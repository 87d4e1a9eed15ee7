/**
 * The bound on what one process has pending towards Redis: commands sent (or queued by ioredis —
 * its per-node offline queue while a connection is down, its command queue while a node does not
 * answer) and not yet answered, in count and in bytes of their arguments. A command that would
 * exceed either bound is not sent at all: it fails at once with an `overload` error, which is
 * transient (retryable) like a timeout, so a logic node answers its request UNAVAILABLE instead of
 * piling up commands behind a Redis node that has stopped answering. Each pending command also
 * ends within the command timeout, so the bound is reached only when Redis is slow or gone.
 */
/** A command argument as RedisStore takes it. */
type RedisArg = string | number | Buffer;

export interface CommandBudgetLimits {
  /** Commands pending at most (a pipeline counts each of its commands). */
  maxCommands: number;
  /** Bytes of pending commands' arguments at most (each command counts COMMAND_OVERHEAD_BYTES more). */
  maxBytes: number;
}

/** Bytes counted per command besides its arguments (name, framing, ioredis's Command object). */
export const COMMAND_OVERHEAD_BYTES = 64;

/** The message prefix of an overload refusal (redis-errors.ts classifies it as `overload`). */
export const OVERLOAD_PREFIX = 'OVERLOADED';

/** A command refused because the process already has its maximum pending towards Redis. */
export class RedisOverloadError extends Error {
  constructor(limits: CommandBudgetLimits, pending: { commands: number; bytes: number }) {
    super(
      `${OVERLOAD_PREFIX} ${pending.commands} Redis commands (${pending.bytes} bytes) are pending in this process, the most IMGROUP_REDIS_MAX_PENDING_COMMANDS (${limits.maxCommands}) / IMGROUP_REDIS_MAX_PENDING_BYTES (${limits.maxBytes}) allow; Redis is slow or unreachable, retry later`,
    );
    this.name = 'RedisOverloadError';
  }
}

/** What one admitted unit of work holds until it is released. */
export interface Admission {
  commands: number;
  bytes: number;
}

export const UNLIMITED: CommandBudgetLimits = { maxCommands: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY };

export class CommandBudget {
  private commands = 0;
  private bytes = 0;

  constructor(readonly limits: CommandBudgetLimits = UNLIMITED) {}

  get pendingCommands(): number {
    return this.commands;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  /** Take room for `commands` commands whose arguments are `args`; throws RedisOverloadError when they do not fit. */
  admit(commands: number, args: Iterable<readonly RedisArg[]>): Admission {
    let bytes = commands * COMMAND_OVERHEAD_BYTES;
    for (const list of args) for (const a of list) bytes += argBytes(a);
    if (this.commands + commands > this.limits.maxCommands || this.bytes + bytes > this.limits.maxBytes) {
      throw new RedisOverloadError(this.limits, { commands: this.commands, bytes: this.bytes });
    }
    this.commands += commands;
    this.bytes += bytes;
    return { commands, bytes };
  }

  release(a: Admission): void {
    this.commands -= a.commands;
    this.bytes -= a.bytes;
  }
}

function argBytes(a: RedisArg): number {
  if (typeof a === 'number') return 8;
  if (typeof a === 'string') return a.length <= 64 ? a.length * 3 : Buffer.byteLength(a);
  return a.byteLength;
}
