/**
 * Who is calling the control API: the role the bearer token gives (view reads, admin reads and acts)
 * and the Grafana user its proxy names. Tokens are compared in constant time; the user header is only
 * a name for the audit log, never a right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ControlTokens } from './tokens.ts';

export type Role = 'view' | 'admin';

export interface Caller {
  role: Role | undefined;
  user: string;
}

const MAX_USER_LENGTH = 64;

/** Hashing first makes both sides the same length, so timingSafeEqual never leaks a token's length. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The role an `Authorization` header gives, undefined for none or a wrong token. */
export function roleFor(tokens: ControlTokens, authorization: string | undefined): Role | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const given = digest(match[1]);
  // Both compared every time: which one matched must not show in the time taken.
  const admin = timingSafeEqual(given, digest(tokens.admin));
  const view = timingSafeEqual(given, digest(tokens.view));
  return admin ? 'admin' : view ? 'view' : undefined;
}

/**
 * The user Grafana's proxy names in `X-Grafana-User`, fit for one log line: letters, digits and
 * `@._+-` (a login or an e-mail address), at most 64 characters; "unknown" when nothing is left.
 */
export function callerName(header: string | string[] | undefined): string {
  const raw = Array.isArray(header) ? header[0] : header;
  const name = (raw ?? '').replace(/[^\p{L}\p{N}@._+-]/gu, '').slice(0, MAX_USER_LENGTH);
  return name === '' ? 'unknown' : name;
}

export function caller(res: Response): Caller {
  return res.locals.caller as Caller;
}

/** Sets `res.locals.caller`; answers 401 without a valid token and 403 when the role is too low. */
export function requireRole(tokens: ControlTokens, needed: Role) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const role = roleFor(tokens, req.get('authorization'));
    res.locals.caller = { role, user: callerName(req.headers['x-grafana-user']) } satisfies Caller;
    if (!role) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'a control token is required' });
      return;
    }
    if (needed === 'admin' && role !== 'admin') {
      res.status(403).json({ error: 'this action needs the admin token' });
      return;
    }
    next();
  };
}
