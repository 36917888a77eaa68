/** The inputs every node-pool action shares: project_id, location, cluster, pool, bucket, timeout. */
import { readActionTimeout, readString } from '../inputs.js';
import type { ClusterRef } from '../google/container.js';
import { deadlineIn } from '../operations.js';
import { readProjectId } from '../google/project.js';

export const NAME_PATTERN = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;
export const LOCATION_PATTERN = /^[a-z]+-[a-z]+\d+(-[a-z])?$/;
export const BUCKET_PATTERN = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

export interface CommonInputs {
  ref: ClusterRef;
  pool: string;
  timeoutSeconds: number;
  deadline: number;
}

export function readCommon(opts: { pool?: boolean } = {}): CommonInputs {
  const project = readProjectId();
  const location = readString('location', { required: true, pattern: LOCATION_PATTERN, accepted: 'a region (us-central1) or zone (us-central1-a)' });
  const cluster = readString('cluster', { required: true, pattern: NAME_PATTERN, accepted: 'a GKE cluster name: lowercase letters, digits, hyphens, at most 40' });
  const pool = opts.pool === false ? '' : readString('pool', { required: true, pattern: NAME_PATTERN, accepted: 'a node pool name: lowercase letters, digits, hyphens, at most 40' });
  const timeoutSeconds = readActionTimeout({ min: 10, max: 6 * 3600 });
  return { ref: { project, location, cluster }, pool, timeoutSeconds, deadline: deadlineIn(timeoutSeconds) };
}

export function readBucket(required: boolean): string {
  return readString('bucket', { required, pattern: BUCKET_PATTERN, accepted: 'a Cloud Storage bucket name (no gs://)' });
}

/** A service account email: NAME@PROJECT.iam.gserviceaccount.com, or a Google-managed one. */
export const SERVICE_ACCOUNT_PATTERN = /^[a-z0-9][a-z0-9-]{4,61}[a-z0-9]@[a-z0-9-]+(\.[a-z0-9-]+)*\.gserviceaccount\.com$/;

/** `service_account`: the account the pool's nodes run as; empty = the action's fallback. */
export function readServiceAccount(): string | undefined {
  return (
    readString('service_account', {
      pattern: SERVICE_ACCOUNT_PATTERN,
      accepted: 'a service account email such as mlabs-nodes@PROJECT.iam.gserviceaccount.com (terraform/bootstrap prints it as MLABS_NODE_SERVICE_ACCOUNT)',
    }) || undefined
  );
}
