/**
 * Server addresses as they may be shown: in a log line, a health answer or a page. A NATS URL can
 * carry a user and password (`nats://user:secret@host:4222`); they are replaced by `***`.
 */
export function withoutCredentials(urls: string): string {
  return urls
    .split(',')
    .map((url) =>
      url.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]*@/i, (_m, scheme = '') => `${scheme}***@`),
    )
    .join(',');
}
