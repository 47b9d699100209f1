import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { definedVariables } from '../../src/config/load.ts';
import { settingsTable, withSettingsTable } from '../../src/config/table.ts';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../../README.md'), 'utf8');

// The README's settings tables are the user's reference; a setting missing there is undocumented.
describe('README settings', () => {
  it('documents every environment variable of the settings sections', () => {
    const missing = definedVariables()
      // Whole names only: SCOPEHIVE_MODELS_DIR alone must not count as documenting SCOPEHIVE_MODELS.
      .filter((env) => !new RegExp(`\\b${env}\\b`).test(readme));
    expect(missing).toEqual([]);
  });

  it('has the tables exactly as `npx tsx scripts/settings-table.ts --write` writes them', () => {
    expect(withSettingsTable(readme)).toBe(readme);
  });

  it('has one table per section, each row a variable, its default and its meaning', () => {
    const table = settingsTable();
    expect(table).toContain('**Folders** (section `paths`)');
    expect(table).toContain(
      '| `SCOPEHIVE_DATA_DIR` | `./data` | Root folder holding inbox, models, results and rejected. |',
    );
    expect(table).toContain(
      '| `NATS_URL` | (unset) | NATS server(s) with JetStream; unset means the embedded queue. |',
    );
  });

  it('cannot be regenerated into a README without the markers', () => {
    expect(() => withSettingsTable('# no table here\n')).toThrow(/no settings-table markers/);
  });
});
