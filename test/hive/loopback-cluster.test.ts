import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { type LoopbackCluster, startLoopbackCluster } from '../../scripts/hive/loopback-cluster.ts';
import { freePort } from '../../scripts/lib/free-port.ts';

/**
 * nats-server reports "Server is ready" before it binds its route port, so a port found free and
 * taken by another process meanwhile ends the server after it said ready. The test cluster must
 * then start again on fresh ports. Arranged by construction: the first port handed out is held by a
 * listener of this test for the whole run.
 */
describe('the loopback hive cluster used by the tests', () => {
  // Whoever connects to the held port (the other servers dialling their seeds) is hung up on.
  const holder = net.createServer((socket) => socket.destroy());
  let cluster: LoopbackCluster | undefined;

  afterAll(async () => {
    await cluster?.close();
    await new Promise((r) => holder.close(r));
  });

  it('starts again on fresh ports when a route port was taken after it was found free', async () => {
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    const handedOut: number[] = [];
    const ports = async () => {
      const port = handedOut.length === 0 ? taken : await freePort();
      handedOut.push(port);
      return port;
    };
    cluster = await startLoopbackCluster({ size: 3, ports });
    expect(cluster.seeds).not.toContain(`:${taken}`);
    expect(cluster.servers.map((s) => s.routePort)).not.toContain(taken);
    expect(cluster.servers.every((s) => s.running)).toBe(true);
    // The first attempt really used the taken port (3 route ports, then client and monitor per server).
    expect(handedOut[0]).toBe(taken);
    expect(handedOut.length).toBeGreaterThan(9);
  });
});
