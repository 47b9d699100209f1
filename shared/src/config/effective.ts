/**
 * The effective settings of a service as a person may see them: every variable of its sections with
 * the value in force, whether it was set or is the default, its README sentence, secrets masked.
 * Deny by default: only variables the settings schema defines are shown; the rest are counted, never
 * listed, so a key or password set under a name the schema does not know cannot leak through here.
 */
import type { SettingsOf } from './define.ts';
import { maskedValue } from './secret-names.ts';

export interface EffectiveSetting {
  name: string;
  /** The value in force (masked when `masked`); null when unset and without a default. */
  value: string | null;
  source: 'default' | 'set';
  description: string;
  masked: boolean;
}

/** The variables of `list` (each once, in the order given) with their values in `env`. */
export function effectiveSettings(
  list: ReadonlyArray<{ settings: SettingsOf }>,
  env: NodeJS.ProcessEnv,
): EffectiveSetting[] {
  const seen = new Set<string>();
  const out: EffectiveSetting[] = [];
  for (const s of list) {
    for (const setting of Object.values(s.settings)) {
      if (seen.has(setting.env)) continue;
      seen.add(setting.env);
      const raw = env[setting.env];
      // An empty value reads as unset everywhere else (parseSettings), so it is the default here too.
      const set = raw !== undefined && raw !== '';
      const value = set ? raw : setting.default;
      const shown = value === undefined ? { value: null, masked: false } : maskedValue(setting.env, value);
      out.push({
        name: setting.env,
        value: shown.value,
        source: set ? 'set' : 'default',
        description: setting.doc,
        masked: shown.masked,
      });
    }
  }
  return out;
}

/** How many variables of `env` are not among `shown`: they are counted, never listed. */
export function hiddenVariableCount(env: NodeJS.ProcessEnv, shown: Iterable<string>): number {
  const visible = new Set(shown);
  return Object.keys(env).filter((name) => !visible.has(name)).length;
}
