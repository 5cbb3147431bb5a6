import { assertWritableTarget, type CoreConfig, type Environment, type Environments, getEnvironment, JobsError } from '@mbsync/jobs';

/** An environment by name; JOBS_UNKNOWN_ENVIRONMENT (400) names the configured ones. */
export function resolveEnvironment(environments: Environments, name: string): Environment {
  return getEnvironment(environments, name);
}

/**
 * The destination guard, before anything is enqueued: protected targets need ALLOW_PROTECTED_TARGETS and
 * `confirm` equal to the name (403 otherwise), non-loopback targets need `confirm`. The guard's CLI wording
 * ("--confirm") is replaced by the request field.
 */
export function assertWritable(target: Environment, core: Readonly<CoreConfig>, confirm: string | undefined): void {
  try {
    assertWritableTarget(target, { allowProtected: core.allowProtectedTargets, confirm });
  } catch (error) {
    if (error instanceof JobsError && error.code === 'JOBS_CONFIRMATION_REQUIRED') {
      const why = target.protected ? `"${target.name}" is protected` : `"${target.name}" is not on this machine`;
      throw new JobsError('JOBS_CONFIRMATION_REQUIRED', `${why}: set "confirm": "${target.name}" in the request to write to it`, { details: { environment: target.name, field: 'confirm' } });
    }
    throw error;
  }
}
