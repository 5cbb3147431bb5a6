import { JobsError } from './errors.js';
import type { Environment } from './environments.js';

export interface GuardOptions {
  /** the server config's switch for protected targets (ALLOW_PROTECTED_TARGETS) */
  allowProtected: boolean;
  /** the target's name typed again by the operator (`--confirm`, API `confirm`) */
  confirm?: string | undefined;
}

/**
 * Refuses writes to a target before any connection is made. Loopback targets pass. Protected targets
 * (production/staging names, Supabase hosts) need the config switch AND the name confirmed. Any other
 * non-loopback target needs the name confirmed.
 */
export function assertWritableTarget(target: Environment, options: GuardOptions): void {
  const confirmed = options.confirm !== undefined && options.confirm.trim().toLowerCase() === target.name;
  if (target.protected) {
    if (!options.allowProtected) {
      throw new JobsError(
        'JOBS_PROTECTED_TARGET',
        `refusing to write to protected environment "${target.name}": protected targets are disabled (set ALLOW_PROTECTED_TARGETS=true to enable)`,
        { details: { environment: target.name } });
    }
    if (!confirmed) {
      throw new JobsError('JOBS_CONFIRMATION_REQUIRED', `writing to protected environment "${target.name}" needs confirmation: pass --confirm ${target.name}`, { details: { environment: target.name } });
    }
    return;
  }
  if (!target.loopback && !confirmed) {
    throw new JobsError('JOBS_CONFIRMATION_REQUIRED', `"${target.name}" is not on this machine: pass --confirm ${target.name} to write to it`, { details: { environment: target.name } });
  }
}
