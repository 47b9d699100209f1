import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { process as balenaRender } from '@balena/compose/dist/dockerfile/index.js';
import { describe, expect, it } from 'vitest';
import { findRepoFiles, instructions, readRepoFile, readYaml, repoRoot, run } from './helpers.ts';

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
      expect(final.find((s) => s.keyword === 'CMD')?.args).toContain(`services/${name}/dist/main.js`);
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

/** Each stage of a rendered Dockerfile: its base (an image or an earlier stage) and its ENV. */
function stagesOf(rendered: string): Map<string, { from: string; env: Record<string, string> }> {
  const stages = new Map<string, { from: string; env: Record<string, string> }>();
  let current: { from: string; env: Record<string, string> } | undefined;
  let index = 0;
  for (const { keyword, args } of instructions(rendered)) {
    if (keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      current = { from: m[1], env: {} };
      stages.set(m[2] ?? `#${index}`, current);
      index += 1;
    } else if (keyword === 'ENV' && current) {
      for (const [, key, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g))
        current.env[key] = value.replace(/^"|"$/g, '');
    }
  }
  return stages;
}

/** The image a stage is built on and the ENV it inherits, following stage aliases to the image. */
function resolveStage(stages: ReturnType<typeof stagesOf>, name: string) {
  const chain = [];
  let stage = stages.get(name);
  while (stage) {
    chain.unshift(stage);
    stage = stages.get(stage.from);
  }
  expect(chain.length, `stage ${name}`).toBeGreaterThan(0);
  return {
    image: chain[0].from,
    env: Object.assign({}, ...chain.map((s) => s.env)) as Record<string, string>,
  };
}

describe('inference image: the GPU stack of each device type', () => {
  const template = readRepoFile('services/inference/Dockerfile.template');
  const render = (deviceType: string) =>
    renderTemplate(template, {
      BALENA_ARCH: archOf(deviceType),
      BALENA_MACHINE_NAME: deviceType,
      RESIN_ARCH: archOf(deviceType),
      RESIN_MACHINE_NAME: deviceType,
    });
  /** The final stage, as balena builds it for the device type. */
  const finalStage = (deviceType: string) => {
    const stages = stagesOf(render(deviceType));
    const last = [...stages.keys()].at(-1)!;
    return resolveStage(stages, last);
  };

  const orin = ['jetson-agx-orin-devkit', 'jetson-agx-orin-devkit-64gb', 'jetson-orin-nx-xavier-nx-devkit'];
  const xavier = ['jetson-xavier', 'jetson-xavier-nx-devkit', 'jetson-xavier-nx-devkit-emmc'];

  it('knows every supported device type, and nothing else', () => {
    expect([...orin, ...xavier, 'genericx86-64-ext', 'generic-amd64'].sort()).toEqual(
      [...deviceTypes].sort(),
    );
  });

  it.each(orin)('%s: L4T r36 / JetPack 6 (Ubuntu 22.04, CUDA 12, TensorRT 10), Orin SoC', (deviceType) => {
    const { image, env } = finalStage(deviceType);
    expect(image).toMatch(/^arm64v8\/ubuntu:jammy-\d{8}$/);
    expect(env.SCOPEHIVE_L4T).toMatch(/^r36\.\d+$/);
    expect(env.SCOPEHIVE_JETPACK).toMatch(/^6\./);
    expect(env.SCOPEHIVE_SOC).toBe('t234');
    expect(env.SCOPEHIVE_CUDA).toMatch(/^12\.\d+$/);
    expect(env.SCOPEHIVE_TENSORRT).toMatch(/^10\./);
    expect(env.SCOPEHIVE_CUDA_ARCH).toBe('87');
    expect(env.SCOPEHIVE_RUNTIME_PACKAGES).toContain(`cuda-cudart-${env.SCOPEHIVE_CUDA.replace('.', '-')}`);
    expect(env.SCOPEHIVE_RUNTIME_PACKAGES).toContain('libnvinfer10');
    expect(env.LD_LIBRARY_PATH).toContain(`/usr/local/cuda-${env.SCOPEHIVE_CUDA}/lib64`);
    expect(env.SCOPEHIVE_DEVICE_TYPE).toBe(deviceType);
  });

  it.each(xavier)(
    '%s: L4T r35 / JetPack 5 (Ubuntu 20.04, CUDA 11.4, TensorRT 8.5), Xavier SoC',
    (deviceType) => {
      const { image, env } = finalStage(deviceType);
      expect(image).toMatch(/^arm64v8\/ubuntu:focal-\d{8}$/);
      expect(env.SCOPEHIVE_L4T).toMatch(/^r35\.\d+$/);
      expect(env.SCOPEHIVE_JETPACK).toMatch(/^5\./);
      expect(env.SCOPEHIVE_SOC).toBe('t194');
      expect(env.SCOPEHIVE_CUDA).toBe('11.4');
      expect(env.SCOPEHIVE_TENSORRT).toBe('8.5');
      expect(env.SCOPEHIVE_CUDA_ARCH).toBe('72');
      expect(env.SCOPEHIVE_RUNTIME_PACKAGES).toContain('cuda-cudart-11-4');
      expect(env.SCOPEHIVE_RUNTIME_PACKAGES).toContain('libnvinfer8');
      expect(env.SCOPEHIVE_DEVICE_TYPE).toBe(deviceType);
    },
  );

  it.each(['genericx86-64-ext', 'generic-amd64'])('%s: the Node image, no L4T', (deviceType) => {
    const { image, env } = finalStage(deviceType);
    expect(image).toMatch(/^amd64\/node:\d+\.\d+\.\d+-bookworm-slim$/);
    expect(Object.keys(env).filter((k) => /L4T|JETPACK|CUDA|TENSORRT/.test(k))).toEqual([]);
    expect(render(deviceType)).not.toMatch(/^FROM\s+\S*l4t/m);
  });

  it('builds ONNX Runtime on the same stack as the final image', () => {
    for (const deviceType of [...orin, ...xavier]) {
      const stages = stagesOf(render(deviceType));
      expect(resolveStage(stages, 'ort')).toEqual({ ...finalStage(deviceType), env: expect.any(Object) });
      const ort = resolveStage(stages, 'ort').env;
      expect(ort.SCOPEHIVE_L4T).toBe(finalStage(deviceType).env.SCOPEHIVE_L4T);
      expect(ort.SCOPEHIVE_ORT).toMatch(/^1\.\d+\.\d+$/);
    }
  });

  it('pins every base image to an exact version', () => {
    for (const { keyword, args } of instructions(template)) {
      if (keyword !== 'FROM') continue;
      const image = args.split(/\s+/)[0];
      if (/^(node|os|jetpack\d|cpu)-/.test(image)) continue; // a stage of this file
      expect(image, image).toMatch(/:(\d+\.\d+\.\d+-[\w-]+|[a-z]+-\d{8})$|@sha256:/);
    }
  });

  it('runs with pipefail wherever a RUN step can pipe', () => {
    const steps = instructions(template);
    for (const [i, s] of steps.entries()) {
      if (s.keyword !== 'FROM' || !/ AS ort$|^os-%%BALENA_MACHINE_NAME%%$/.test(s.args)) continue;
      expect(steps[i + 1]).toEqual({ keyword: 'SHELL', args: '["/bin/bash", "-o", "pipefail", "-c"]' });
    }
  });
});

describe('services/inference/docker/swap-ort.sh', () => {
  it('replaces the ONNX Runtime packages by the GPU build’s tarballs, and leaves them without any', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scopehive-swap-ort-'));
    try {
      const modules = path.join(dir, 'node_modules');
      const from = path.join(dir, 'ort');
      mkdirSync(path.join(modules, 'onnxruntime-node'), { recursive: true });
      mkdirSync(path.join(dir, 'pkg', 'package'), { recursive: true });
      mkdirSync(from);
      writeFileSync(path.join(modules, 'onnxruntime-node', 'package.json'), '{"version":"1.30.0"}');
      const script = path.join(repoRoot, 'services/inference/docker/swap-ort.sh');
      expect(run('bash', [script, from, modules]).status).toBe(0);
      expect(readFileSync(path.join(modules, 'onnxruntime-node', 'package.json'), 'utf8')).toContain(
        '1.30.0',
      );

      writeFileSync(path.join(dir, 'pkg', 'package', 'package.json'), '{"version":"1.20.1"}');
      run('tar', [
        '-czf',
        path.join(from, 'onnxruntime-node-1.20.1.tgz'),
        '-C',
        path.join(dir, 'pkg'),
        'package',
      ]);
      const r = run('bash', [script, from, modules]);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe('swap-ort.sh: onnxruntime-node from onnxruntime-node-1.20.1.tgz');
      expect(readFileSync(path.join(modules, 'onnxruntime-node', 'package.json'), 'utf8')).toContain(
        '1.20.1',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('x86-64 GPU worker (docker-compose.gpu.yml)', () => {
  interface GpuCompose {
    services: Record<string, { build: { context: string; dockerfile?: string; dockerfile_inline?: string } }>;
  }
  const gpu = readYaml<GpuCompose>('docker-compose.gpu.yml');

  it('builds the same nats image as the balena app does for amd64', () => {
    const vars = { BALENA_ARCH: 'amd64', BALENA_MACHINE_NAME: 'genericx86-64-ext' };
    const rendered = instructions(renderTemplate(readRepoFile('nats/Dockerfile.template'), vars));
    const stages = stagesOf(renderTemplate(readRepoFile('nats/Dockerfile.template'), vars));
    const last = [...stages.keys()].at(-1)!;
    const inline = instructions(gpu.services.nats.build.dockerfile_inline!);
    expect(gpu.services.nats.build.context).toBe('./nats');
    expect(inline[0]).toEqual({ keyword: 'FROM', args: resolveStage(stages, last).image });
    const afterLastFrom = rendered.slice(rendered.findLastIndex((s) => s.keyword === 'FROM') + 1);
    expect(inline.slice(1)).toEqual(afterLastFrom);
  });

  it('builds inference from an existing plain Dockerfile with pinned images and existing sources', () => {
    const file = gpu.services.inference.build.dockerfile!;
    expect(file).toBe('services/inference/docker/Dockerfile.cuda');
    const steps = instructions(readRepoFile(file));
    expect(readRepoFile(file)).not.toContain('%%');
    for (const { keyword, args } of steps) {
      if (keyword === 'FROM') {
        const image = args.split(/\s+/)[0];
        if (image === 'node') continue;
        expect(image, image).toMatch(/:\d+\.\d+\.\d+-[\w.-]+$/);
      }
      if ((keyword === 'COPY' || keyword === 'ADD') && !args.includes('--from=')) {
        for (const source of args.split(/\s+/).slice(0, -1)) {
          expect(existsSync(path.join(repoRoot, source)), `COPY ${source}`).toBe(true);
        }
      }
    }
    expect(steps.some((s) => s.keyword === 'RUN' && s.args.includes('ONNXRUNTIME_NODE_INSTALL=cuda12'))).toBe(
      true,
    );
    expect(steps.filter((s) => s.keyword === 'USER').map((s) => s.args)).toEqual(['node']);
  });
});

/** balena's variables for a device type: what `balena push` gives a Dockerfile.template. */
const balenaVars = (deviceType: string) => ({
  BALENA_ARCH: archOf(deviceType),
  BALENA_MACHINE_NAME: deviceType,
  RESIN_ARCH: archOf(deviceType),
  RESIN_MACHINE_NAME: deviceType,
});

/** An exact release (x.y.z, or a dated tag like jammy-20250404) or a digest: never a floating tag. */
const pinnedImage = /(:(v?\d+\.\d+\.\d+[\w.-]*|[a-z]+-\d{8}))?(@sha256:[a-f0-9]{64})?$/;
const isPinned = (image: string) => {
  const m = pinnedImage.exec(image)!;
  return m[1] !== undefined || m[3] !== undefined;
};

/** A shell that fails a pipeline when any part of it fails (hadolint DL4006). */
const pipefailShell = /^\["\/bin\/(bash|ash)", "-o", "pipefail", "-c"\]$/;

/** `|` that pipes, not `||`. */
const pipes = (command: string) => /\|/.test(command.replace(/\|\|/g, ''));

/**
 * What a rendered Dockerfile gets wrong: a base image (FROM, or COPY --from an image) that is not
 * pinned, or a RUN that pipes in a stage whose shell (its own SHELL, or the one its base stage
 * set) does not fail on a failed pipe.
 */
function dockerfileProblems(rendered: string): string[] {
  const problems: string[] = [];
  const shellOf = new Map<string, string | undefined>();
  let stage = '';
  let shell: string | undefined;
  let index = 0;
  for (const { keyword, args } of instructions(rendered)) {
    if (keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!m) {
        problems.push(`FROM ${args}: unreadable`);
        continue;
      }
      const [, image, alias] = m;
      if (shellOf.has(image)) shell = shellOf.get(image);
      else {
        shell = undefined;
        if (!isPinned(image)) problems.push(`FROM ${image}: not pinned to an exact version or digest`);
      }
      stage = alias ?? `#${index}`;
      index += 1;
      shellOf.set(stage, shell);
    } else if (keyword === 'SHELL') {
      shell = args;
      shellOf.set(stage, shell);
    } else if (keyword === 'COPY' || keyword === 'ADD') {
      const from = /--from=(\S+)/.exec(args)?.[1];
      if (from && !shellOf.has(from) && !/^\d+$/.test(from) && !isPinned(from))
        problems.push(`COPY --from=${from}: not pinned to an exact version or digest`);
    } else if (keyword === 'RUN' && pipes(args) && !(shell && pipefailShell.test(shell))) {
      problems.push(`RUN in stage ${stage} pipes without SHELL ["/bin/bash", "-o", "pipefail", "-c"]`);
    }
  }
  return problems;
}

describe("every Dockerfile, as balena's own template processor renders it for each device type", () => {
  const plain = findRepoFiles(
    (name) => /^Dockerfile(\.[\w-]+)?$/.test(name) && name !== 'Dockerfile.template',
  );
  const cases = templates.flatMap((file) => deviceTypes.map((deviceType) => [file, deviceType] as const));

  it.each(cases)('%s for %s: pinned base images, pipefail wherever a RUN pipes', (file, deviceType) => {
    const template = readRepoFile(file);
    const rendered = balenaRender(template, balenaVars(deviceType));
    // The renderer above is the one these tests have used all along; it must agree with balena's.
    expect(renderTemplate(template, balenaVars(deviceType))).toBe(rendered);
    expect(dockerfileProblems(rendered)).toEqual([]);
  });

  it.each(plain)('%s (no template): pinned base images, pipefail wherever a RUN pipes', (file) => {
    expect(dockerfileProblems(readRepoFile(file))).toEqual([]);
  });

  it('finds a floating tag, an unpinned COPY --from and a pipe without pipefail', () => {
    const bad = [
      'FROM node:22-bookworm-slim AS build',
      'RUN curl -fsSL https://example.org/key | gpg --dearmor -o /k.gpg',
      'FROM alpine',
      'COPY --from=busybox:1.36 /bin/busybox /bin/busybox',
      'FROM build',
      'SHELL ["/bin/sh", "-c"]',
      'RUN a | b',
    ].join('\n');
    expect(dockerfileProblems(bad)).toEqual([
      'FROM node:22-bookworm-slim: not pinned to an exact version or digest',
      'RUN in stage build pipes without SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
      'FROM alpine: not pinned to an exact version or digest',
      'COPY --from=busybox:1.36: not pinned to an exact version or digest',
      'RUN in stage #2 pipes without SHELL ["/bin/bash", "-o", "pipefail", "-c"]',
    ]);
    const good = [
      `FROM alpine:3.20.3@sha256:${'a'.repeat(64)} AS base`,
      'SHELL ["/bin/ash", "-o", "pipefail", "-c"]',
      'FROM base',
      'RUN a | b || c',
      'FROM arm64v8/ubuntu:jammy-20250404',
      'RUN a || b',
    ].join('\n');
    expect(dockerfileProblems(good)).toEqual([]);
  });
});

describe('exporter image: tegrastats from the L4T release of each device type', () => {
  const finalStage = (deviceType: string) => {
    const stages = stagesOf(
      balenaRender(readRepoFile('services/exporter/Dockerfile.template'), balenaVars(deviceType)),
    );
    return resolveStage(stages, [...stages.keys()].at(-1)!);
  };

  it.each(['jetson-agx-orin-devkit', 'jetson-agx-orin-devkit-64gb', 'jetson-orin-nx-xavier-nx-devkit'])(
    '%s: L4T r36 (Ubuntu 22.04), Orin SoC',
    (deviceType) => {
      const { image, env } = finalStage(deviceType);
      expect(image).toMatch(/^arm64v8\/ubuntu:jammy-\d{8}$/);
      expect(env).toMatchObject({
        SCOPEHIVE_L4T: expect.stringMatching(/^r36\.\d+$/),
        SCOPEHIVE_SOC: 't234',
      });
    },
  );

  it.each(['jetson-xavier', 'jetson-xavier-nx-devkit', 'jetson-xavier-nx-devkit-emmc'])(
    '%s: L4T r35 (Ubuntu 20.04), Xavier SoC',
    (deviceType) => {
      const { image, env } = finalStage(deviceType);
      expect(image).toMatch(/^arm64v8\/ubuntu:focal-\d{8}$/);
      expect(env).toMatchObject({
        SCOPEHIVE_L4T: expect.stringMatching(/^r35\.\d+$/),
        SCOPEHIVE_SOC: 't194',
      });
    },
  );

  it.each(['genericx86-64-ext', 'generic-amd64'])('%s: the Node image, no L4T', (deviceType) => {
    const { image, env } = finalStage(deviceType);
    expect(image).toMatch(/^amd64\/node:\d+\.\d+\.\d+-bookworm-slim$/);
    expect(env.SCOPEHIVE_L4T).toBeUndefined();
  });

  it('uses the same L4T releases and base images as the inference image', () => {
    for (const deviceType of deviceTypes.filter((d) => d.startsWith('jetson-'))) {
      const inference = stagesOf(
        balenaRender(readRepoFile('services/inference/Dockerfile.template'), balenaVars(deviceType)),
      );
      const fromInference = resolveStage(inference, [...inference.keys()].at(-1)!);
      const fromExporter = finalStage(deviceType);
      expect(fromExporter.image, deviceType).toBe(fromInference.image);
      expect(fromExporter.env.SCOPEHIVE_L4T, deviceType).toBe(fromInference.env.SCOPEHIVE_L4T);
    }
  });
});
