/**
 * Reading Redis `INFO` (and `CLUSTER INFO`) replies: `field:value` lines under `# Section`
 * headings, CRLF-separated. The reply is untrusted input: a field that is not there is null.
 */

/** The value of `name` in an INFO reply, trimmed; null when the reply has no such field. */
export function infoField(text: string, name: string): string | null {
  const prefix = `${name}:`;
  for (const line of text.split('\n')) {
    if (line.startsWith(prefix)) return line.slice(prefix.length).trim();
  }
  return null;
}
