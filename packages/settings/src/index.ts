// @mbsync/settings: settings through TypeBox schemas. The apps read their environment variables with
// readVariables (one schema per app, defaults in the schema); every TypeBox error, of variables or of a JSON
// document (collection specs), is worded by renderProblems: one line per problem, never a secret's value.
export { formatPath, renderProblems, show } from './problems.js';
export type { Problem, ProblemPath, ProblemWording, RenderOptions } from './problems.js';
export { readVariables } from './variables.js';
export type { Variables, VariablesOptions } from './variables.js';
