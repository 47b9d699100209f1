import { describe, expect, it } from 'vitest';
import { withoutCredentials, withoutSecrets } from '../src/redact.ts';

describe('withoutCredentials', () => {
  it('hides the user and password of every server in a list', () => {
    expect(withoutCredentials('nats://scope:s3cret@10.0.0.5:4222, tls://token@hive-2:4222')).toBe(
      'nats://***@10.0.0.5:4222,tls://***@hive-2:4222',
    );
    expect(withoutCredentials('user:pw@localhost:4222')).toBe('***@localhost:4222');
  });

  it('hides a password with a space, a slash or an @ written as it is', () => {
    expect(withoutCredentials('nats://scope:s3cret value@10.0.0.5:4222')).toBe('nats://***@10.0.0.5:4222');
    expect(withoutCredentials('nats://scope:a/b@c@10.0.0.5:4222')).toBe('nats://***@10.0.0.5:4222');
  });

  it('leaves addresses without credentials alone', () => {
    expect(withoutCredentials('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });
});

describe('withoutSecrets', () => {
  it('replaces every occurrence of every secret, longest first', () => {
    expect(withoutSecrets('pw=s3cret-value; again s3cret-value; s3cret', ['s3cret', 's3cret-value'])).toBe(
      'pw=***; again ***; ***',
    );
  });

  it('ignores empty secrets', () => {
    expect(withoutSecrets('text', [''])).toBe('text');
  });
});
