import { describe, expect, it } from 'vitest';
import { withoutCredentials } from '../src/redact.ts';

describe('withoutCredentials', () => {
  it('hides the user and password of every server in a list', () => {
    expect(withoutCredentials('nats://scope:s3cret@10.0.0.5:4222, tls://token@hive-2:4222')).toBe(
      'nats://***@10.0.0.5:4222,tls://***@hive-2:4222',
    );
    expect(withoutCredentials('user:pw@localhost:4222')).toBe('***@localhost:4222');
  });

  it('leaves addresses without credentials alone', () => {
    expect(withoutCredentials('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });
});
