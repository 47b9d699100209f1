/**
 * Server addresses as they may be shown: in a log line, a health answer or a page. A NATS URL can
 * carry a user and password (`nats://user:secret@host:4222`) or a token (`nats://token@host`); they
 * are replaced by `***`. Everything up to the last `@` of each address is credentials (a host
 * never holds an `@`), so a password with a space, `/` or `@` in it is hidden too.
 */
export function withoutCredentials(urls: string): string {
  return urls
    .split(',')
    .map((url) => url.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, (_m, scheme = '') => `${scheme}***@`))
    .join(',');
}

/**
 * `text` with every one of `secrets` replaced by `***`: for a message that may quote a secret
 * anywhere (an error from a library that was given it). Empty secrets are ignored.
 */
export function withoutSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].filter((s) => s !== '').sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('***');
  }
  return out;
}
