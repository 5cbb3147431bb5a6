import { Type } from 'typebox';

export const EnvironmentInfo = Type.Object({
  name: Type.String(),
  protected: Type.Boolean({ description: 'writes need ALLOW_PROTECTED_TARGETS on the server and `confirm` equal to the name' }),
  loopback: Type.Boolean({ description: 'the database is on the server machine (writes need no confirmation unless protected)' }),
  writable: Type.Boolean({ description: 'false when protected and the server does not allow protected targets' }),
  typesense: Type.Boolean({ description: 'a Typesense server is configured (reindex possible)' }),
});
export const EnvironmentList = Type.Object({ environments: Type.Array(EnvironmentInfo) });
