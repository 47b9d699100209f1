/**
 * A TCP port on loopback for a server a test or a simulation is about to start.
 *
 * Asking the kernel for port 0 and closing the socket hands out a port from the ephemeral range,
 * the same range the kernel gives every outgoing connection: in a busy test run (thousands of
 * loopback connections, each leaving a TIME_WAIT) that port can be taken again before the server
 * binds it, and the server dies with "address already in use". So the port is drawn at random from below the
 * ephemeral range, where the kernel never places a connection, and checked free before it is given.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';

const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (Linux's default when it cannot be read). */
function ephemeralStart(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

export async function freePort(): Promise<number> {
  const top = ephemeralStart();
  if (top - LOWEST >= 1000) {
    for (let tries = 0; tries < 50; tries++) {
      const port = await listenOnce(randomInt(LOWEST, top));
      if (port !== undefined) return port;
    }
  }
  // A machine whose ephemeral range starts low: the kernel's choice, as a last resort.
  const port = await listenOnce(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}
