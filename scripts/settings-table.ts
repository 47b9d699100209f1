/** Prints the README's settings table from the one settings schema: `npx tsx scripts/settings-table.ts`. */
import { settingsSchema } from '@scopehive/shared';

console.log('| variable | default | meaning |');
console.log('|---|---|---|');
for (const s of Object.values(settingsSchema)) {
  console.log(`| \`${s.env}\` | ${s.default === undefined ? '(unset)' : `\`${s.default}\``} | ${s.doc} |`);
}
