/**
 * The README's settings tables from the section definitions: `npx tsx scripts/settings-table.ts` prints
 * them, `--write` puts them into README.md between their markers (a test fails while the two differ).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { settingsTable, withSettingsTable } from '@scopehive/shared';

if (process.argv.includes('--write')) {
  const readme = path.resolve(import.meta.dirname, '../README.md');
  writeFileSync(readme, withSettingsTable(readFileSync(readme, 'utf8')));
} else {
  process.stdout.write(settingsTable());
}
