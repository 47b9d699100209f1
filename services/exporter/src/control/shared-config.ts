/**
 * The shared modules the control API needs that shared/src/index.ts does not export yet (issue 11 is
 * wired by the lead at the end): the one place to switch to `@scopehive/shared` once it does.
 */
export { type ControlConfig, control } from '../../../../shared/src/config/control.ts';
export {
  type EffectiveSetting,
  effectiveSettings,
  hiddenVariableCount,
} from '../../../../shared/src/config/effective.ts';
