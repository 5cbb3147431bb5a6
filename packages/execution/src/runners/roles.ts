import { type Environment, JobsError } from '@mbsync/jobs';

/** What the copy names roles for: the schema check refuses missing ones unless the import creates them. */
export function roleChecks(input: { owners?: boolean; privileges?: boolean; createRoles?: boolean }): { owners: boolean; privileges: boolean; create: boolean } {
  return { owners: input.owners === true, privileges: input.privileges === true, create: input.createRoles === true };
}

/** Creating roles in a protected target (production, staging, Supabase) is refused: roles are the platform's. */
export function assertMayCreateRoles(target: Environment, createRoles: boolean | undefined): void {
  if (createRoles && target.protected) {
    throw new JobsError('JOBS_INVALID_INPUT', `--create-roles is refused for the protected target "${target.name}": create the roles there yourself`);
  }
}

