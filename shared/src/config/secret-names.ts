/**
 * What counts as a secret when settings are shown to a person (the control API's settings view): a
 * value whose variable NAME looks secret is replaced whole, and credentials inside a URL (user and
 * password before the `@`, a token or key in the query) are replaced wherever they appear.
 */
import { withoutCredentials } from '../redact.ts';

/** Shown instead of a secret: always the same, so it gives away neither the length nor the kind. */
export const MASK = '********';

const secretName = /KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE/i;
const secretQuery =
  /([?&;][^=&;#]*(?:key|secret|token|password|passwd|credential|private|auth|sig)[^=&;#]*=)[^&;#]*/gi;

/** A variable whose name says it holds a secret (`…_KEY`, `…_TOKEN`, `…PASSWORD`, `…_PRIVATE_…`). */
export function looksSecret(name: string): boolean {
  return secretName.test(name);
}

/**
 * `value` as it may be shown under the variable `name`: MASK for a secret-looking name, else the value
 * with credentials inside URLs replaced. `masked` says whether anything was hidden.
 */
export function maskedValue(name: string, value: string): { value: string; masked: boolean } {
  if (looksSecret(name)) return { value: MASK, masked: true };
  let shown = value.replace(secretQuery, `$1${MASK}`);
  // withoutCredentials treats everything before the last `@` as credentials; only worth it when one is there.
  if (shown.includes('@')) shown = withoutCredentials(shown).replaceAll('***@', `${MASK}@`);
  return { value: shown, masked: shown !== value };
}
