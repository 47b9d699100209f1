import { describe, expect, it } from 'vitest';
import { balenaNormalize, readYaml } from './helpers.ts';

/**
 * The compose checks lean on balena's parser (compose.test.ts): these cases show it really refuses
 * what a `balena push` would refuse, so a passing compose test is not a parser that accepts anything.
 */
const compose = readYaml<{ services: Record<string, Record<string, unknown>> }>('docker-compose.yml');

function withService(change: (service: Record<string, unknown>) => void, version = '2.4') {
  const copy = structuredClone(compose) as typeof compose & { version: string };
  copy.version = version;
  change(copy.services.ingest);
  return copy;
}

describe("balena's compose parser", () => {
  it.each([
    [
      'a bind mount of a host folder',
      (s: Record<string, unknown>) => (s.volumes = ['/etc:/host-etc']),
      /Bind mounts/,
    ],
    ['an undeclared named volume', (s: Record<string, unknown>) => (s.volumes = ['cache:/cache']), /cache/],
    [
      'a field outside its schema',
      (s: Record<string, unknown>) => (s.deploy = { replicas: 2 }),
      /additional/,
    ],
    ['a dependency on no service', (s: Record<string, unknown>) => (s.depends_on = ['queue']), /queue/],
    ['a malformed port', (s: Record<string, unknown>) => (s.ports = ['80:3000:x']), /ports/],
    ['scale', (s: Record<string, unknown>) => (s.scale = 2), /scale/],
    ['a label name with a space', (s: Record<string, unknown>) => (s.labels = { 'a b': '1' }), /label/i],
  ])('refuses %s', (_what, change, message) => {
    expect(() => balenaNormalize(withService(change))).toThrow(message);
  });

  it('refuses a compose format balena does not read', () => {
    expect(() => balenaNormalize(withService(() => {}, '3.8'))).toThrow(/Unsupported composition version/);
  });

  it('keeps a named volume read-only, and leaves the input untouched', () => {
    const input = withService((s) => (s.volumes = ['data:/data:ro']));
    const before = structuredClone(input);
    expect(balenaNormalize(input).services.ingest.volumes).toEqual(['data:/data:ro']);
    expect(input).toEqual(before);
  });
});
