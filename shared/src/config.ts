/**
 * One typed schema for every setting. Each setting is an environment variable, parsed and validated
 * once at start-up; a bad value raises a ConfigError naming the variable, which `main` prints as one
 * line before exiting with code 1.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

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

type Parsed<S> = S extends Setting<infer T> ? T : never;
export type ConfigOf<S extends Record<string, Setting<unknown>>> = { [K in keyof S]: Parsed<S[K]> };

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

/** Reads every setting of `schema` from `env`; the first bad value throws a one-line ConfigError. */
export function readConfig<S extends Record<string, Setting<unknown>>>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(schema)) {
    const raw = env[s.env];
    const value = raw === undefined || raw === '' ? s.default : raw;
    if (value === undefined) {
      out[key] = undefined;
      continue;
    }
    try {
      out[key] = s.parse(value);
    } catch (err) {
      const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
      throw new ConfigError(`${s.env}=${JSON.stringify(shown)} is invalid: ${(err as Error).message}`);
    }
  }
  return out as ConfigOf<S>;
}
