/** `imgroup token <userId> [--ttl seconds]`: print a client token signed with IMGROUP_JWT_SECRET. */
import { signToken } from '../auth/token-signer.js';
import { ID_RULE, isValidId } from '../protocol/ids.js';
import { ConfigError, intOption, resolveOptions, secretOption } from '../config/options.js';

export const TOKEN_OPTIONS = [
  secretOption({ key: 'jwtSecret', env: 'IMGROUP_JWT_SECRET', flag: 'jwt-secret', required: true, doc: 'HS256 secret the gates verify client tokens with.' }),
  intOption({ key: 'ttlSeconds', env: 'IMGROUP_TOKEN_TTL', flag: 'ttl', default: 3600, min: 1, max: 366 * 24 * 3600, doc: 'Lifetime of a token printed by `imgroup token`, in seconds.' }),
] as const;

export async function runToken(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const { options, positionals } = resolveOptions(TOKEN_OPTIONS, argv, env);
  const [userId] = positionals;
  if (positionals.length !== 1 || userId === undefined) throw new ConfigError('usage: imgroup token <userId> [--ttl seconds]');
  if (!isValidId(userId)) throw new ConfigError(`user id ${JSON.stringify(userId)} is not valid: ${ID_RULE}`);
  return signToken(options.jwtSecret, userId, options.ttlSeconds);
}
