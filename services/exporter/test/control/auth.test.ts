import { describe, expect, it } from 'vitest';
import { callerName, roleFor } from '../../src/control/auth.ts';

const tokens = { view: 'view-token-0123456789abcdefghij', admin: 'admin-token-0123456789abcdefghij' };

describe('the role a bearer token gives', () => {
  it('admin for the admin token, view for the view token, none otherwise', () => {
    expect(roleFor(tokens, `Bearer ${tokens.admin}`)).toBe('admin');
    expect(roleFor(tokens, `bearer  ${tokens.view}`)).toBe('view');
    expect(roleFor(tokens, undefined)).toBeUndefined();
    expect(roleFor(tokens, '')).toBeUndefined();
    expect(roleFor(tokens, tokens.admin)).toBeUndefined();
    expect(roleFor(tokens, `Basic ${tokens.admin}`)).toBeUndefined();
    expect(roleFor(tokens, `Bearer ${tokens.admin}x`)).toBeUndefined();
    expect(roleFor(tokens, `Bearer ${tokens.admin.slice(0, -1)}`)).toBeUndefined();
    expect(roleFor(tokens, `Bearer ${tokens.view} ${tokens.admin}`)).toBeUndefined();
  });
});

describe('the acting user named by Grafana', () => {
  it('keeps a login or an e-mail address', () => {
    expect(callerName('alice')).toBe('alice');
    expect(callerName('bob.smith+lab@example.org')).toBe('bob.smith+lab@example.org');
    expect(callerName('Zoë_2')).toBe('Zoë_2');
  });
  it('drops what could forge a log line, and bounds the length', () => {
    expect(callerName('eve\n{"user":"admin"}')).toBe('eveuseradmin');
    expect(callerName('x'.repeat(500))).toHaveLength(64);
  });
  it('is "unknown" when the header is missing or nothing is left of it', () => {
    expect(callerName(undefined)).toBe('unknown');
    expect(callerName('\u0000\r\n')).toBe('unknown');
    expect(callerName(['carol', 'mallory'])).toBe('carol');
  });
});
