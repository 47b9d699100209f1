import { effectiveSettings, hiddenVariableCount, looksSecret, MASK, maskedValue } from '@scopehive/shared';
import { describe, expect, it } from 'vitest';
import { sections } from '../../../../shared/src/config/sections.ts';

describe('secret-looking names', () => {
  it.each([
    'BALENA_SUPERVISOR_API_KEY',
    'SCOPEHIVE_HIVE_SECRET',
    'SCOPEHIVE_CONTROL_ADMIN_TOKEN',
    'GF_SECURITY_ADMIN_PASSWORD',
    'AWS_CREDENTIALS',
    'SSH_PRIVATE_FILE',
    'db_passwd',
  ])('%s is a secret', (name) => {
    expect(looksSecret(name)).toBe(true);
    expect(maskedValue(name, 'hunter2')).toEqual({ value: MASK, masked: true });
  });

  it('the mask is the same whatever the length of the secret', () => {
    expect(maskedValue('X_TOKEN', 'a').value).toBe(maskedValue('X_TOKEN', 'a'.repeat(300)).value);
  });

  it('other values are shown as they are', () => {
    expect(maskedValue('SCOPEHIVE_CONFIDENCE', '0.25')).toEqual({ value: '0.25', masked: false });
    expect(maskedValue('NATS_URL', 'nats://nats:4222')).toEqual({ value: 'nats://nats:4222', masked: false });
  });
});

describe('credentials inside URLs', () => {
  it('a user and password before the @ are masked, the host stays', () => {
    expect(maskedValue('NATS_URL', 'nats://scope:s3cret@nats:4222,nats://b:pw@other:4222')).toEqual({
      value: `nats://${MASK}@nats:4222,nats://${MASK}@other:4222`,
      masked: true,
    });
  });
  it('a token or key in the query is masked', () => {
    const { value, masked } = maskedValue(
      'SCOPEHIVE_MODEL_URL',
      'https://models.example/m.onnx?x-amz-signature=abc123&access_token=zz9&v=2',
    );
    expect(masked).toBe(true);
    expect(value).toBe(`https://models.example/m.onnx?x-amz-signature=${MASK}&access_token=${MASK}&v=2`);
    expect(value).not.toMatch(/abc123|zz9/);
  });
});

describe('effective settings (deny by default)', () => {
  const env = {
    SCOPEHIVE_CONFIDENCE: '0.5',
    NATS_URL: 'nats://u:pw-in-url@nats:4222',
    SCOPEHIVE_NOT_IN_SCHEMA: 'leak-me-not',
    MY_API_KEY: 'leak-me-not-either',
  };

  it('shows each variable of the sections once, set or default, with its sentence', () => {
    const list = effectiveSettings([sections.analysis, sections.queue, sections.analysis], env);
    const confidence = list.find((s) => s.name === 'SCOPEHIVE_CONFIDENCE');
    expect(confidence).toEqual({
      name: 'SCOPEHIVE_CONFIDENCE',
      value: '0.5',
      source: 'set',
      description: sections.analysis.settings.confidence.doc,
      masked: false,
    });
    expect(list.find((s) => s.name === 'SCOPEHIVE_IOU')).toMatchObject({ value: '0.45', source: 'default' });
    expect(list.find((s) => s.name === 'NATS_URL')).toMatchObject({
      value: `nats://${MASK}@nats:4222`,
      masked: true,
    });
    expect(list.filter((s) => s.name === 'SCOPEHIVE_IOU')).toHaveLength(1);
  });

  it('never lists a variable outside the schema, only counts it', () => {
    const list = effectiveSettings([sections.analysis, sections.queue], env);
    const text = JSON.stringify(list);
    expect(text).not.toContain('SCOPEHIVE_NOT_IN_SCHEMA');
    expect(text).not.toContain('leak-me-not');
    expect(text).not.toContain('pw-in-url');
    expect(
      hiddenVariableCount(
        env,
        list.map((s) => s.name),
      ),
    ).toBe(2);
  });
});
