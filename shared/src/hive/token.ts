import { createHash } from 'node:crypto';

/**
 * A node's name as one NATS subject token, KV key and consumer-name part. A balena device UUID or a
 * plain host name is kept as it is; any other name (`lab-pc.local`, spaces, …) is cleaned and gets a
 * hash suffix, so that two nodes never share a key, a results subject or a consumer.
 */
export function nodeToken(node: string): string {
  if (node === '') throw new Error('a node needs a name');
  const clean = node.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  if (clean === node) return node;
  return `${clean}-${createHash('sha256').update(node).digest('hex').slice(0, 8)}`;
}
