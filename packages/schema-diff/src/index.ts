export { introspect, modelNodes } from './introspect.js';
export { inlineParameters } from './inline-parameters.js';
export { MANAGED_SCHEMAS, META_SCHEMA, isManagedSchema, selectSchemas } from './introspect/scope.js';
export type { IntrospectOptions } from './introspect/scope.js';
export { SchemaDiffError } from './errors.js';
export type { SchemaDiffErrorCode } from './errors.js';
export { modelSchemas, narrowModel, objectKey } from './model.js';
export type {
  Column, CompositeAttribute, CompositeType, ConstraintType, DefaultPrivilege, DependencyEdge, DomainConstraint, DomainType, EnumType, EventTrigger, Publication, PublicationTable,
  ExtensionInfo, IdentitySpec, IndexInfo, ObjectKind, Ownership, Policy, RangeType, Routine, RoutineKind, Rule, SchemaInfo,
  SchemaModel, SequenceInfo, SequenceOptions, Table, TableConstraint, TableKind, Trigger, View, ViewColumn,
} from './model.js';
export { diffSchemas, typeFit } from './diff.js';
export type { ChangeKind, ChangeSeverity, DataOnlySeverity, DiffOptions, ReplaceSeverity, SchemaChange, SchemaObjectType, TypeCatalog, TypeFit } from './diff.js';
export { countTargetRows, judgeImport, tablesToCount } from './verdict.js';
export type { CountOptions, JudgeContext, ModeVerdict, Verdict } from './verdict.js';
export { renderReport } from './render.js';
export type { RenderOptions } from './render.js';
export { predictDependents, readDependents } from './introspect/dependents.js';
export type { Dependent, DependentFate, DependentKind, DependentsOptions } from './introspect/dependents.js';
export { checkTarget } from './check.js';
export type { CheckOptions, TargetCheck } from './check.js';
export { CENSUS, readUncopied } from './introspect/uncopied.js';
export type { CensusOptions, UncopiedObject } from './introspect/uncopied.js';
export { readMissingRoles, referencedRoles } from './roles.js';
export type { MissingRole, RoleUse } from './roles.js';
export { catalogObjects, operatorArguments } from './catalog-objects.js';
export type {
  Cast, CatalogObjects, Collation, Conversion, Operator, OperatorClass, OperatorFamily, OperatorMember, StatisticsObject, SupportFunction,
  TextSearchConfiguration, TextSearchDictionary, TextSearchMapping, TextSearchParser, TextSearchTemplate,
} from './catalog-objects.js';
export { castKey, catalogObjectIdentities, catalogObjectKeys, operatorKey } from './catalog-object-keys.js';
export type { CatalogObjectKind } from './model.js';
