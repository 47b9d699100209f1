import fs from 'node:fs/promises';
import path from 'node:path';
import { parseThermalZones, type ThermalZone } from './parse.ts';

/** Thermal zones under `<sys>/class/thermal`; unreadable zones and switched-off sensors are left out. */
export async function readThermalZones(sysRoot: string): Promise<ThermalZone[]> {
  const base = path.join(sysRoot, 'class', 'thermal');
  const names = await fs.readdir(base).catch(() => [] as string[]);
  const zones = names
    .filter((n) => /^thermal_zone\d+$/.test(n))
    .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
  const files: Array<{ type: string; temp: string }> = [];
  for (const name of zones) {
    try {
      const type = await fs.readFile(path.join(base, name, 'type'), 'utf8');
      const temp = await fs.readFile(path.join(base, name, 'temp'), 'utf8');
      files.push({ type, temp });
    } catch {
      // A zone whose driver cannot read right now (EINVAL/ENODATA) has no figure.
    }
  }
  return parseThermalZones(files);
}
