import { Type, type Static } from 'typebox';
import { JobId } from './jobs.js';

/** What a client may send on /ws (JSON text frames). */
export const ClientMessage = Type.Union([
  Type.Object({ type: Type.Literal('subscribe'), jobId: JobId }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('subscribe'), all: Type.Literal(true) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('unsubscribe'), jobId: JobId }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('unsubscribe'), all: Type.Literal(true) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('ping') }, { additionalProperties: false }),
]);
export type ClientMessage = Static<typeof ClientMessage>;

/** A subscription: one job, or every job. */
export type Subscription = { jobId: string } | { all: true };

/** What a plain GET /ws (no upgrade) answers. */
export const WsInfo = Type.Object({
  upgrade: Type.Literal('websocket'),
  path: Type.String(),
  authentication: Type.String(),
  messages: Type.String(),
});
