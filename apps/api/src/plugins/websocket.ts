import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';

export interface WebsocketPluginOptions {
  /** bigger client frames close the socket with 1009 (message too big) */
  maxMessageBytes: number;
  /** how often sockets are pinged; one that did not answer the previous ping is terminated */
  heartbeatMs?: number;
}

/** Close code and reason sockets get when the server shuts down (1001 = going away). */
export const SHUTDOWN_CLOSE = { code: 1001, reason: 'server shutting down' } as const;

/** How long clients get to answer the shutdown close frame. */
const CLOSE_HANDSHAKE_MS = 1_000;

interface Alive {
  isAlive?: boolean;
  ping(): void;
  terminate(): void;
  on(event: 'pong', listener: () => void): unknown;
}

async function websocketPlugin(app: FastifyInstance, options: WebsocketPluginOptions): Promise<void> {
  await app.register(websocket, {
    options: { maxPayload: options.maxMessageBytes, perMessageDeflate: false },
    // on close: stop taking upgrades, tell every client why (instead of the default bare close)
    preClose(done) {
      const server = app.websocketServer;
      for (const client of server.clients) client.close(SHUTDOWN_CLOSE.code, SHUTDOWN_CLOSE.reason);
      // a client that does not answer the close frame is cut off, so shutdown never waits on it
      const cutOff = setTimeout(() => {
        for (const client of server.clients) client.terminate();
      }, CLOSE_HANDSHAKE_MS);
      server.close(() => {
        clearTimeout(cutOff);
        done();
      });
    },
  });
  app.websocketServer.on('connection', (socket: Alive) => {
    socket.isAlive = true;
    socket.on('pong', () => (socket.isAlive = true));
  });
  const heartbeat = setInterval(() => {
    for (const socket of app.websocketServer.clients as Set<Alive>) {
      if (socket.isAlive === false) socket.terminate();
      else {
        socket.isAlive = false;
        socket.ping();
      }
    }
  }, options.heartbeatMs ?? 30_000);
  heartbeat.unref();
  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
  });
}

/** @fastify/websocket with bounded frames, heartbeats and a shutdown close reason. Not encapsulated. */
export const websocketSupport = Object.assign(websocketPlugin, { [Symbol.for('skip-override')]: true });
