/**
 * Setting builders. Each setting is an environment variable with a default as the user would type it,
 * one sentence for the README, and a parser whose error says what was expected.
 */

export interface Setting<T> {
  /** Environment variable name. */
  env: string;
  /** One sentence for the README table. */
  doc: string;
  /** Default as the user would type it; undefined means "unset". */
  default: string | undefined;
  /** Parses the raw value; throws an Error whose message says what was expected. */
  parse(raw: string): T;
}

export type SettingsOf = Record<string, Setting<unknown>>;
type Parsed<S> = S extends Setting<infer T> ? T : never;
export type ValuesOf<S extends SettingsOf> = { [K in keyof S]: Parsed<S[K]> };

/** A named group of settings and how its parsed values become what a service is given. */
export interface Section<S extends SettingsOf = SettingsOf, V = unknown> {
  /** What the section is about, for the README. */
  title: string;
  settings: S;
  /** Problems between values of this section (each one line), checked once every value parsed. */
  check?: (values: ValuesOf<S>, env: NodeJS.ProcessEnv) => string[];
  /** Derived values: defaults that depend on other settings, absolute paths. */
  resolve: (values: ValuesOf<S>) => V;
}

/** Builds a section, inferring its value types from its settings. */
export function section<S extends SettingsOf, V>(def: Section<S, V>): Section<S, V> {
  return def;
}

function def<T>(env: string, doc: string, dflt: string | undefined, parse: (raw: string) => T): Setting<T> {
  return { env, doc, default: dflt, parse };
}

export const setting = {
  string(env: string, doc: string, dflt?: string): Setting<string> {
    return def(env, doc, dflt, (raw) => raw);
  },
  optionalString(env: string, doc: string): Setting<string | undefined> {
    return def(env, doc, undefined, (raw) => (raw === '' ? undefined : raw));
  },
  int(env: string, doc: string, dflt: number, min: number, max: number): Setting<number> {
    return def(env, doc, String(dflt), (raw) => {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new Error(`expected a whole number from ${min} to ${max}`);
      }
      return n;
    });
  },
  number(env: string, doc: string, dflt: number, min: number, max: number): Setting<number> {
    return def(env, doc, String(dflt), (raw) => {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
        throw new Error(`expected a number from ${min} to ${max}`);
      }
      return n;
    });
  },
  bool(env: string, doc: string, dflt: boolean): Setting<boolean> {
    return def(env, doc, String(dflt), (raw) => {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Error('expected true or false');
    });
  },
  oneOf<const T extends string>(env: string, doc: string, dflt: T, values: readonly T[]): Setting<T> {
    return def(env, doc, dflt, (raw) => {
      const v = raw.trim().toLowerCase() as T;
      if (!values.includes(v)) throw new Error(`expected one of ${values.join(', ')}`);
      return v;
    });
  },
  list(env: string, doc: string, dflt: string): Setting<string[]> {
    return def(env, doc, dflt, (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    );
  },
};

// Error lines end up in logs and support chats; a secret's value must not, even when it is wrong.
const secretName = /SECRET|TOKEN|PASSWORD|KEY/i;

/** How a value appears in an error line: quoted, one line, at most 60 characters, secrets hidden. */
export function shownValue(env: string, value: string): string {
  if (secretName.test(env)) return '(hidden)';
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/** Parses every setting of `settings` from `env`; each bad value is one problem line, none stops the others. */
export function parseSettings<S extends SettingsOf>(
  settings: S,
  env: NodeJS.ProcessEnv,
): { values: ValuesOf<S>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(settings)) {
    const raw = env[s.env];
    const value = raw === undefined || raw === '' ? s.default : raw;
    if (value === undefined) {
      values[key] = undefined;
      continue;
    }
    try {
      values[key] = s.parse(value);
    } catch (err) {
      problems.push(`${s.env}=${shownValue(s.env, value)} is invalid: ${(err as Error).message}`);
    }
  }
  return { values: values as ValuesOf<S>, problems };
}
