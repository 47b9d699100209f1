/**
 * `GET /api/v1/settings`: the effective settings of each scopehive service on this node, from the one
 * settings schema, secrets masked, everything outside the schema hidden and only counted.
 */
import {
  control,
  type EffectiveSetting,
  effectiveSettings,
  hiddenVariableCount,
  type SectionName,
  sections,
} from '@scopehive/shared';

type Section = Parameters<typeof effectiveSettings>[0][number];

/**
 * The sections each service's main reads (`sections:` in services/<name>/src/main.ts, plus `node`,
 * which every service is given); test/control/settings.test.ts keeps the two lists in step.
 */
export const SERVICE_SECTIONS = {
  ingest: ['paths', 'watch', 'analysis', 'queue', 'http', 'hive', 'node'],
  inference: ['paths', 'analysis', 'runtime', 'watch', 'queue', 'http', 'hive', 'node'],
  exporter: ['paths', 'device', 'http', 'queue', 'hive', 'node'],
} as const satisfies Record<string, readonly SectionName[]>;

export type ServiceName = keyof typeof SERVICE_SECTIONS;

/**
 * Said in every answer because it is the view's one limit: the values are this container's
 * environment. balena gives fleet and device variables to every service, so those are exact; a
 * variable set for one other service only never reaches the exporter and shows here as its default.
 */
export const SETTINGS_NOTE =
  "Values as the exporter's environment holds them: fleet and device variables reach every service and are exact; a service variable set in balena for ingest or inference alone is not visible here and shows as the default. Secret-looking names and credentials in URLs are masked; variables outside the settings schema are not shown.";

export interface SettingsView {
  services: Array<{ service: ServiceName; settings: EffectiveSetting[] }>;
  /** Variables of the environment outside the schema: never listed (deny by default), only counted. */
  hiddenVariables: number;
  note: string;
}

function sectionsOf(service: ServiceName): Section[] {
  const list: Section[] = SERVICE_SECTIONS[service].map((name) => sections[name]);
  // The control API's own settings, until its section is registered with the others.
  return service === 'exporter' ? [...list, control] : list;
}

export function settingsView(env: NodeJS.ProcessEnv): SettingsView {
  const services = (Object.keys(SERVICE_SECTIONS) as ServiceName[]).map((service) => ({
    service,
    settings: effectiveSettings(sectionsOf(service), env),
  }));
  const shown = services.flatMap((s) => s.settings.map((setting) => setting.name));
  return { services, hiddenVariables: hiddenVariableCount(env, shown), note: SETTINGS_NOTE };
}
