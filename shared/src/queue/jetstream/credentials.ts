import { StartupError } from '../../config/errors.ts';
import { withoutCredentials, withoutSecrets } from '../../redact.ts';

/** `NATS_URL` split into what the client connects to and how it authenticates. */
export interface NatsServers {
  /** Server addresses without credentials: what the client holds, and so what its errors and events can show. */
  servers: string[];
  /** From `nats://user:pass@host`. */
  user?: string;
  pass?: string;
  /** From `nats://token@host`. */
  token?: string;
  /** Every form of the credentials (as written and decoded), for scrubbing messages. */
  secrets: string[];
}

/**
 * Takes the credentials out of `NATS_URL`. The NATS client ignores credentials in a server URL
 * (it connects to the host alone), so they are passed as its `user`/`pass` or `token` options, and
 * the client never holds the URL that carries them. Throws a StartupError (with the addresses
 * redacted) for an address that is not a URL or servers that disagree about the credentials.
 */
export function parseNatsServers(urls: string): NatsServers {
  const servers: string[] = [];
  const secrets: string[] = [];
  let userinfo: string | undefined;
  for (const raw of urls.split(',').map((s) => s.trim())) {
    if (raw === '') continue;
    const at = raw.lastIndexOf('@');
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `nats://${raw}`;
    const scheme = withScheme.slice(0, withScheme.indexOf('://') + 3);
    const info = at < 0 ? undefined : withScheme.slice(scheme.length, withScheme.lastIndexOf('@'));
    const host = at < 0 ? withScheme.slice(scheme.length) : withScheme.slice(withScheme.lastIndexOf('@') + 1);
    // The password or token (user names are not secret, and hiding one would blank every word it is part of).
    if (info !== undefined) secrets.push(info, safeDecode(info), ...[info, safeDecode(info)].map(afterColon));
    if (!validHost(`${scheme}${host}`)) {
      throw new StartupError(
        `NATS_URL: '${withoutCredentials(raw)}' is not a server address (nats://host:port)`,
      );
    }
    if (info !== undefined) {
      if (userinfo !== undefined && userinfo !== info) {
        throw new StartupError(
          `NATS_URL: '${withoutCredentials(urls)}' gives different credentials for different servers; give the same to every server, or to one`,
        );
      }
      userinfo = info;
    }
    servers.push(`${scheme}${host}`);
  }
  const out: NatsServers = { servers, secrets };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    if (colon < 0) out.token = safeDecode(userinfo);
    else {
      out.user = safeDecode(userinfo.slice(0, colon));
      out.pass = safeDecode(userinfo.slice(colon + 1));
    }
  }
  return out;
}

function afterColon(info: string): string {
  const colon = info.indexOf(':');
  return colon < 0 ? info : info.slice(colon + 1);
}

/** The error with every secret taken out of its message and stack (and Node's `input`, which holds a bad URL whole). */
export function scrubbed(err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof Error) || secrets.length === 0) return err;
  err.message = withoutSecrets(err.message, secrets);
  if (err.stack) err.stack = withoutSecrets(err.stack, secrets);
  if ('input' in err) delete (err as { input?: unknown }).input;
  if (err.cause !== undefined) scrubbed(err.cause, secrets);
  return err;
}

function validHost(url: string): boolean {
  try {
    const u = new URL(url);
    return u.hostname !== '' && (u.pathname === '' || u.pathname === '/') && u.search === '';
  } catch {
    return false;
  }
}

/** Percent-decoded, as URLs write reserved characters in a password; as written when it is not valid encoding. */
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
