import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRepoFiles, readRepoFile, readYaml, repoRoot } from './helpers.ts';

/** balenaOS architecture (BALENA_ARCH) of each device type this app supports. */
const archOf = (deviceType: string): string => {
  if (deviceType.startsWith('jetson-')) return 'aarch64';
  if (deviceType === 'genericx86-64-ext' || deviceType === 'generic-amd64') return 'amd64';
  throw new Error(`no architecture known for ${deviceType}`);
};

/**
 * balena's Dockerfile.template processing, as @balena/compose does it (lib/dockerfile): line by
 * line, lines starting with `#` untouched, `%%NAME%%` (NAME: an uppercase letter, then uppercase
 * letters or `_`) replaced by BALENA_ARCH / BALENA_MACHINE_NAME (and their RESIN_ aliases); an
 * unknown name fails the build. Its lodash template would also run `<% %>` code, so that is refused.
 */
function renderTemplate(template: string, vars: Record<string, string>): string {
  return template
    .split('\n')
    .map((line) => {
      if (line[0] === '#') return line;
      if (line.includes('<%')) throw new Error(`lodash template code in: ${line}`);
      return line.replace(/%%([A-Z][A-Z_]+)%%/g, (_m, name: string) => {
        if (!(name in vars)) throw new Error(`unknown template variable %%${name}%%`);
        return vars[name];
      });
    })
    .join('\n');
}

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comment lines dropped. */
function instructions(dockerfile: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of dockerfile.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (pending === '' && line === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (m) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim() });
  }
  return out;
}

/** An image reference: [registry[:port]/]path[:tag][@digest]. */
const imageRef =
  /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

interface Compose {
  services: Record<string, { build?: string | { context: string; dockerfile?: string } }>;
}

const compose = readYaml<Compose>('docker-compose.yml');
const builds = Object.entries(compose.services)
  .filter(([, s]) => s.build !== undefined)
  .map(([name, s]) => {
    const build = typeof s.build === 'string' ? { context: s.build } : s.build!;
    return {
      name,
      context: path.normalize(build.context),
      dockerfile: path.normalize(path.join(build.context, build.dockerfile ?? 'Dockerfile.template')),
    };
  });
const deviceTypes = readYaml<{ data: { supportedDeviceTypes: string[] } }>('balena.yml').data
  .supportedDeviceTypes;
const templates = findRepoFiles((name) => name === 'Dockerfile.template');

describe('Dockerfile templates', () => {
  it('exist for every service built from source, and every template is used', () => {
    expect(templates.sort()).toEqual(builds.map((b) => b.dockerfile).sort());
    for (const name of ['ingest', 'inference', 'exporter']) {
      expect(builds.find((b) => b.name === name)?.dockerfile).toBe(`services/${name}/Dockerfile.template`);
    }
  });

  const cases = builds.flatMap((b) => deviceTypes.map((deviceType) => [b.name, deviceType, b] as const));

  it.each(cases)('%s renders for %s', (_name, deviceType, build) => {
    const vars = {
      BALENA_ARCH: archOf(deviceType),
      BALENA_MACHINE_NAME: deviceType,
      RESIN_ARCH: archOf(deviceType),
      RESIN_MACHINE_NAME: deviceType,
    };
    const rendered = renderTemplate(readRepoFile(build.dockerfile), vars);
    const code = rendered
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join('\n');
    expect(code).not.toContain('%%');

    const stages: string[] = [];
    let froms = 0;
    for (const { keyword, args } of instructions(rendered)) {
      if (keyword === 'FROM') {
        froms += 1;
        const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
        expect(m, `FROM ${args}`).not.toBeNull();
        const [, image, alias] = m!;
        expect(stages.includes(image) || imageRef.test(image), `FROM ${image}`).toBe(true);
        expect(image).not.toMatch(/:latest$/);
        if (!stages.includes(image)) expect(image, `${image} has no tag`).toMatch(/[:@]/);
        if (alias) stages.push(alias);
      } else if (keyword === 'COPY' || keyword === 'ADD') {
        const from = /--from=(\S+)/.exec(args)?.[1];
        if (from) {
          expect(stages.includes(from) || imageRef.test(from), `COPY --from=${from}`).toBe(true);
          continue;
        }
        // Every local source must exist in the build context balena sends.
        const parts = args
          .split(/\s+/)
          .filter((p) => !p.startsWith('--'))
          .slice(0, -1);
        for (const source of parts) {
          expect(
            existsSync(path.join(repoRoot, build.context, source)),
            `${build.dockerfile}: COPY ${source}`,
          ).toBe(true);
        }
      }
    }
    expect(froms).toBeGreaterThan(0);
  });

  it.each(['ingest', 'inference', 'exporter'])(
    '%s builds in stages, installs production dependencies only and runs as the node user',
    (name) => {
      const steps = instructions(readRepoFile(`services/${name}/Dockerfile.template`));
      const froms = steps.filter((s) => s.keyword === 'FROM');
      expect(froms.some((s) => / AS build$/i.test(s.args))).toBe(true);
      expect(
        steps.some((s) => s.keyword === 'RUN' && /npm ci --omit=dev .*--workspace services\//.test(s.args)),
      ).toBe(true);
      const lastFrom = steps.lastIndexOf(froms[froms.length - 1]);
      const final = steps.slice(lastFrom);
      expect(final.some((s) => s.keyword === 'COPY' && s.args.startsWith('--from=build '))).toBe(true);
      expect(final.filter((s) => s.keyword === 'USER').map((s) => s.args)).toEqual(['node']);
      expect(final.find((s) => s.keyword === 'CMD')?.args).toContain(`services/${name}/src/main.ts`);
    },
  );

  it('refuses to render an unknown template variable', () => {
    expect(() => renderTemplate('FROM %%BALENA_DEVICE_TYPE%%', { BALENA_ARCH: 'aarch64' })).toThrow(
      /unknown/,
    );
    expect(
      renderTemplate('# %%ANYTHING%% in a comment\nFROM x-%%BALENA_ARCH%%', { BALENA_ARCH: 'amd64' }),
    ).toBe('# %%ANYTHING%% in a comment\nFROM x-amd64');
  });
});
