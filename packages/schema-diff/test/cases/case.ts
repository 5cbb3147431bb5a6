import type { ChangeKind, ChangeSeverity, SchemaObjectType } from '../../src/index.js';

/** A change the case must produce: matched on objectType, name and kind, then on the given severities and detail. */
export interface ExpectedChange {
  objectType: SchemaObjectType;
  name: string;
  kind: ChangeKind;
  severity?: Partial<ChangeSeverity>;
  detail?: RegExp;
}

/**
 * One before/after case: `before` runs in a fresh database playing the dump's source, `after` in another playing
 * the target. The diff must hold exactly the expected changes; `dataOnly` is the expected data-only verdict.
 */
export interface DiffCase {
  name: string;
  before: string;
  after: string;
  expect: ExpectedChange[];
  dataOnly?: boolean;
}

export const ok = { replace: 'info', 'data-only': 'ok' } as const;
