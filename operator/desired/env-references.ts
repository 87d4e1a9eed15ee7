/**
 * Kubernetes' expansion of `$(VAR)` references in a container's command and args, as the kubelet
 * does it: `$(NAME)` becomes the value of env var NAME when the container defines it and stays as
 * written otherwise; `$$` is an escaped `$`. Tests and a local node agent use it to run a pod's
 * command the way the kubelet would.
 */
const REFERENCE = /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g;

export function expandEnvReferences(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(REFERENCE, (match: string, name: string | undefined) => {
    if (name === undefined) return '$';
    return Object.hasOwn(env, name) ? (env[name] as string) : match;
  });
}

/** Every `$(VAR)` a text refers to. */
export function envReferences(text: string): string[] {
  return [...text.matchAll(REFERENCE)].flatMap((m) => (m[1] === undefined ? [] : [m[1]]));
}
