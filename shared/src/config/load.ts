import { parseSettings, type Section } from './define.ts';
import { ConfigError } from './errors.ts';
import { type Config, type SectionName, sections } from './sections.ts';

/**
 * `SCOPEHIVE_` variables that belong to other programs of the stack (the nfs container's entrypoint,
 * the tests' sample folder): set fleet-wide they reach every service, which must not call them unknown.
 */
const readElsewhere = [
  'SCOPEHIVE_NFS_ALLOWED',
  'SCOPEHIVE_NFS_OPTIONS',
  'SCOPEHIVE_NFS_ROOT',
  'SCOPEHIVE_NFS_THREADS',
  'SCOPEHIVE_DATA_UID',
  'SCOPEHIVE_DATA_GID',
  'SCOPEHIVE_SHARED_DIR',
  // The nats container's configuration (nats/render-config.sh).
  'SCOPEHIVE_HIVE_SEEDS',
  'SCOPEHIVE_HIVE_SECRET',
  'SCOPEHIVE_HIVE_ADVERTISE',
  'SCOPEHIVE_HIVE_NAME',
  'SCOPEHIVE_HIVE_TLS_CERT',
  'SCOPEHIVE_HIVE_TLS_KEY',
  'SCOPEHIVE_HIVE_TLS_CA',
  'SCOPEHIVE_HIVE_JETSTREAM',
  'SCOPEHIVE_NATS_HOST',
  'SCOPEHIVE_NATS_PORT',
  'SCOPEHIVE_HIVE_PORT',
  'SCOPEHIVE_NATS_MONITOR_PORT',
  'SCOPEHIVE_NATS_STORE',
  'SCOPEHIVE_NATS_CONFIG',
];

/**
 * Reads the sections a service asks for from `env`. Every invalid value of those sections is collected
 * and thrown as one ConfigError (one line per variable); unknown `SCOPEHIVE_` variables come back as
 * warnings, since a typo must not stop a device but must not go unnoticed either.
 */
export function loadConfig<const N extends SectionName>(
  names: readonly N[],
  env: NodeJS.ProcessEnv = process.env,
): { config: Config<N>; warnings: string[] } {
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of names) {
    // Every section is a Section of its own settings; widened here so one loop reads them all.
    const s = sections[name] as unknown as Section;
    const parsed = parseSettings(s.settings, env);
    problems.push(...parsed.problems);
    if (parsed.problems.length > 0) continue;
    const crossProblems = s.check?.(parsed.values, env) ?? [];
    problems.push(...crossProblems);
    if (crossProblems.length === 0) config[name] = s.resolve(parsed.values);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { config: config as Config<N>, warnings: unknownSettings(env) };
}

/** Every variable the sections define, in the README's order. */
export function definedVariables(): string[] {
  return Object.values(sections).flatMap((s) =>
    Object.values((s as unknown as Section).settings).map((setting) => setting.env),
  );
}

/** The variables a section defines, and the `SCOPEHIVE_` ones other programs of the stack read. */
function knownVariables(): string[] {
  return [...definedVariables(), ...readElsewhere];
}

/** One warning per `SCOPEHIVE_` variable no section defines, with the closest known name when one is near. */
export function unknownSettings(env: NodeJS.ProcessEnv): string[] {
  const known = knownVariables();
  return Object.keys(env)
    .filter((name) => name.startsWith('SCOPEHIVE_') && !known.includes(name))
    .sort()
    .map((name) => {
      const near = closest(name, known);
      return `unknown setting ${name}${near ? ` (did you mean ${near}?)` : ''}`;
    });
}

/** The candidate within a few typing mistakes of `name`, if any. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  // Past a third of the part after the prefix, a "suggestion" is a different word, not a typo.
  const limit = Math.max(1, Math.floor((name.length - 'SCOPEHIVE_'.length) / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/**
 * Edit distance counting an inserted, deleted or replaced character, or two neighbours swapped, as one
 * mistake each (optimal string alignment): swapped letters are the commonest typo in a variable name.
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
