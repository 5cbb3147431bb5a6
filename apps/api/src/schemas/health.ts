import { Type } from 'typebox';

export const Health = Type.Object({ status: Type.Literal('ok') });
export const Ready = Type.Object({ status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]), redis: Type.Boolean() });
export const WsTicket = Type.Object({
  ticket: Type.String({ description: 'pass as /ws?ticket=…; single use' }),
  expiresAt: Type.String({ format: 'date-time' }),
});
