/**
 * Settings of the exporter's control API (device management through balena's supervisor). A section of
 * its own so the one list in sections.ts registers it with one line.
 */
import { type Setting, section, setting } from './define.ts';

export interface ControlConfig {
  /** Unset: generated at first start and kept in `tokenDir`. */
  viewToken: string | undefined;
  adminToken: string | undefined;
  /** Unset: `/control` on balena, else `.scopehive-control` beside the data folder (see tokenFolder). */
  tokenDir: string | undefined;
  /** The inference service's HTTP port, asked how many jobs are in flight when an update lock is held. */
  inferenceUrl: string;
}

// A token a person chose must still be hard to guess; 24 characters of base64url is 144 bits.
const MIN_TOKEN_LENGTH = 24;

function token(env: string, doc: string): Setting<string | undefined> {
  return {
    env,
    doc,
    default: undefined,
    parse(raw) {
      const value = raw.trim();
      if (value.length < MIN_TOKEN_LENGTH || /\s/.test(value)) {
        throw new Error(`expected at least ${MIN_TOKEN_LENGTH} characters without spaces`);
      }
      return value;
    },
  };
}

export const control = section({
  title: 'Control API (exporter)',
  settings: {
    viewToken: token(
      'SCOPEHIVE_CONTROL_VIEW_TOKEN',
      'Bearer token that reads the control API (device, services, logs, settings); unset: generated at first start and kept in the token folder.',
    ),
    adminToken: token(
      'SCOPEHIVE_CONTROL_ADMIN_TOKEN',
      'Bearer token that reads the control API and acts (restart, reboot, shutdown, update); unset: generated at first start and kept in the token folder.',
    ),
    tokenDir: setting.optionalString(
      'SCOPEHIVE_CONTROL_TOKEN_DIR',
      'Folder of the control tokens (`view.token`, `admin.token`) and the audit log `audit.log` (default `/control` on balena, else `.scopehive-control` beside the data folder).',
    ),
    inferenceUrl: setting.string(
      'SCOPEHIVE_INFERENCE_URL',
      'Where the exporter asks the inference service how many jobs are in flight when a reboot meets its update lock.',
      'http://inference:9464',
    ),
  },
  // The same token for both would give every reader the right to reboot.
  check: (v) =>
    v.viewToken !== undefined && v.viewToken === v.adminToken
      ? ['SCOPEHIVE_CONTROL_VIEW_TOKEN and SCOPEHIVE_CONTROL_ADMIN_TOKEN must differ']
      : [],
  resolve: (v): ControlConfig => v,
});
