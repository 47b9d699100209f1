import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseNatsServers, scrubbed } from '../../src/queue/jetstream/credentials.ts';

describe('parseNatsServers', () => {
  it('takes a user and password out of the addresses the client is given', () => {
    expect(
      parseNatsServers('nats://scope:s3cret@10.0.0.5:4222, nats://scope:s3cret@hive-2:4222'),
    ).toMatchObject({
      servers: ['nats://10.0.0.5:4222', 'nats://hive-2:4222'],
      user: 'scope',
      pass: 's3cret',
    });
  });

  it('decodes a percent-encoded password and takes a token', () => {
    expect(parseNatsServers('nats://scope:p%40ss%20w@h:4222')).toMatchObject({
      user: 'scope',
      pass: 'p@ss w',
    });
    expect(parseNatsServers('tok3n@h:4222')).toMatchObject({ servers: ['nats://h:4222'], token: 'tok3n' });
  });

  it('gives the credentials to servers named without them', () => {
    expect(parseNatsServers('nats://u:p@a:4222,nats://b:4222')).toMatchObject({
      servers: ['nats://a:4222', 'nats://b:4222'],
      user: 'u',
      pass: 'p',
    });
  });

  it('leaves addresses without credentials as they are', () => {
    expect(parseNatsServers('nats://127.0.0.1:4222')).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      secrets: [],
    });
  });

  it('refuses an address that is not a URL, and servers with different credentials, without showing them', () => {
    for (const bad of [
      'nats://u:s3cret@h:99999',
      'nats://u:s3cret@h:4222/path',
      'nats://u:s3cret@a:4222,nats://u:other-s3cret@b:4222',
    ]) {
      const err = (() => {
        try {
          parseNatsServers(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^NATS_URL: /);
      expect(inspect(err)).not.toContain('s3cret');
    }
  });
});

describe('scrubbed', () => {
  it('takes the secrets out of an error, its cause and the URL Node keeps on it', () => {
    const err = (() => {
      try {
        new URL('nats://u:s3cret@h:99999');
      } catch (e) {
        return new Error('connect failed for s3cret', { cause: e });
      }
    })();
    const secrets = parseNatsServers('nats://u:s3cret@h:4222').secrets;
    expect(inspect(scrubbed(err, secrets), { depth: 5 })).not.toContain('s3cret');
  });
});
