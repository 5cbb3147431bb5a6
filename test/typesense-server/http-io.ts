import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { toTypesenseJson } from './json.js';

/** What a route handler answers; the pipeline writes it (or withholds it under a `reset` fault). */
export interface Reply {
  status: number;
  /** `json` → `application/json; charset=utf-8`, `text` → `text/plain; charset=utf-8` (contract §1.0). */
  type: 'json' | 'text';
  body: string;
}

/** A JSON reply with keys sorted like nlohmann::json. */
export function jsonReply(status: number, value: unknown): Reply {
  return { status, type: 'json', body: toTypesenseJson(value) };
}

/**
 * An error reply. Typesense concatenates the text into `{"message": "…"}` without escaping
 * (contract §1.0, `http_data.h`), so we do the same, space after the colon included.
 */
export function messageReply(status: number, message: string): Reply {
  return { status, type: 'json', body: `{"message": "${message}"}` };
}

/** A `text/plain` reply (import and export, contract §1.3/§1.4). */
export function textReply(status: number, body: string): Reply {
  return { status, type: 'text', body };
}

const CONTENT_TYPES = { json: 'application/json; charset=utf-8', text: 'text/plain; charset=utf-8' } as const;

/** Writes a reply and ends the response. */
export function sendReply(res: ServerResponse, reply: Reply): void {
  const body = Buffer.from(reply.body);
  res.writeHead(reply.status, { 'content-type': CONTENT_TYPES[reply.type], 'content-length': body.length });
  res.end(body);
}

/** Reads the whole request body; gzip bodies (`1f 8b`) are inflated as the server does (§1.0). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) return gunzipSync(body);
  return body;
}
