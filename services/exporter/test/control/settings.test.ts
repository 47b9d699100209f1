import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICE_SECTIONS, settingsView } from '../../src/control/settings.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The `sections: [...]` list a service's main gives runMain. */
async function mainSections(service: string): Promise<string[]> {
  const text = await fs.readFile(path.join(repo, 'services', service, 'src', 'main.ts'), 'utf8');
  const list = /sections:\s*\[([^\]]*)\]/.exec(text);
  if (!list) throw new Error(`services/${service}/src/main.ts has no sections: [...] list`);
  return [...list[1].matchAll(/'([a-z]+)'/g)].map((m) => m[1]);
}

describe('the settings view', () => {
  it.each(Object.keys(SERVICE_SECTIONS))("shows the sections %s's main reads", async (service) => {
    // `node` is given to every service; `control` is shown for the exporter from its own section file.
    const expected = new Set([...(await mainSections(service)), 'node']);
    expected.delete('control');
    expect(new Set(SERVICE_SECTIONS[service as keyof typeof SERVICE_SECTIONS])).toEqual(expected);
  });

  it("lists the exporter's control settings with the tokens masked", () => {
    const view = settingsView({ SCOPEHIVE_CONTROL_ADMIN_TOKEN: 'admin-token-0123456789abcdef' });
    const exporter = view.services.find((s) => s.service === 'exporter');
    expect(exporter?.settings.find((s) => s.name === 'SCOPEHIVE_CONTROL_ADMIN_TOKEN')).toMatchObject({
      value: '********',
      source: 'set',
      masked: true,
    });
    expect(exporter?.settings.find((s) => s.name === 'SCOPEHIVE_INFERENCE_URL')).toMatchObject({
      value: 'http://inference:9464',
      source: 'default',
    });
    expect(JSON.stringify(view)).not.toContain('admin-token-0123456789abcdef');
  });
});
