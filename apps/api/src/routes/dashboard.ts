import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../http-errors.js';
import type { RouteOptions } from './sync.js';

/** The only files served: a name not in this list answers 404, so no path can reach anything else. */
export const DASHBOARD_ASSETS: Readonly<Record<string, string>> = Object.freeze({
  'index.html': 'text/html; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'api-client.js': 'text/javascript; charset=utf-8',
  'live-feed.js': 'text/javascript; charset=utf-8',
  'job-list.js': 'text/javascript; charset=utf-8',
  'format.js': 'text/javascript; charset=utf-8',
});

/**
 * The page loads only its own scripts and styles and talks only to its own origin (fetch and `/ws`: CSP 3 lets
 * 'self' cover ws:/wss: of the same host). No inline script or style. No upgrade-insecure-requests: the api
 * also runs on plain http on loopback, where it would turn the page's own requests into failing https ones.
 */
const DASHBOARD_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'none'"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    styleSrc: ["'self'"],
  },
};

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** apps/api/public, from src/routes (tsx) or dist/src/routes (built). */
function publicDirectory(): string {
  for (const relative of ['../../public/', '../../../public/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  throw new Error('dashboard: apps/api/public/index.html not found');
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const dir = publicDirectory();
  const assets = new Map<string, Asset>();
  for (const [name, contentType] of Object.entries(DASHBOARD_ASSETS)) {
    const body = await readFile(`${dir}${name}`);
    assets.set(name, { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
  }
  return assets;
}

/** `no-cache` + ETag: the browser revalidates every load (a 304 is cheap), so a new version shows at once. */
function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply.header('cache-control', 'no-cache').header('etag', asset.etag).header('content-type', asset.contentType);
  if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
  return reply.send(asset.body);
}

/** GET / (the dashboard) and GET /assets/:name: open (no API key), files read once at boot from a fixed list. */
export const dashboardRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app) => {
  const assets = await loadAssets();
  const open = { public: true };
  const helmet = { contentSecurityPolicy: DASHBOARD_CSP };
  const hidden = { hide: true, security: [] };

  app.get('/', { config: open, helmet, schema: hidden }, async (request, reply) => sendAsset(request, reply, assets.get('index.html')!));

  app.get('/assets/:name', {
    config: open,
    helmet,
    schema: { ...hidden, params: Type.Object({ name: Type.String({ maxLength: 100 }) }) },
  }, async (request, reply) => {
    const asset = request.params.name === 'index.html' ? undefined : assets.get(request.params.name);
    if (!asset) throw new ApiError('API_NOT_FOUND', 'no such dashboard asset');
    return sendAsset(request, reply, asset);
  });
};
