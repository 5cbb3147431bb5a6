import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A free loopback TCP port (asked from the kernel, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A private redis-server on `port` (data in `dir`), for tests that stop Redis under a worker. */
export class PrivateRedis {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | null = null;

  constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server and waits until it answers PING. */
  async start(): Promise<void> {
    this.#child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' });
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      for (let i = 0; i < 100; i++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch {
          probe.disconnect();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      throw new Error(`redis-server on ${this.port} did not start`);
    } finally {
      probe.disconnect();
    }
  }

  /** Saves the data set to dump.rdb and exits (a restart loads it). */
  async shutdownSaving(): Promise<void> {
    const client = new Redis(this.url, { maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    const exited = new Promise((r) => this.#child?.once('exit', r));
    await client.call('SHUTDOWN', 'SAVE').catch(() => {});
    client.disconnect();
    await exited;
    this.#child = null;
  }

  /** SIGKILL: the data set is lost (no persistence). */
  async kill(): Promise<void> {
    if (!this.#child || this.#child.exitCode !== null) return;
    const exited = new Promise((r) => this.#child?.once('exit', r));
    this.#child.kill('SIGKILL');
    await exited;
    this.#child = null;
  }
}
