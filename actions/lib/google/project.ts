/**
 * The Google Cloud project an action works on: its `project_id` input, else the
 * project the job's login exported (wif-login sets CLOUDSDK_CORE_PROJECT and friends).
 */
import { InputError } from '../errors.js';
import { readString } from '../inputs.js';

export const PROJECT_ID_PATTERN = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
export const PROJECT_ID_ACCEPTED = 'a project id: 6 to 30 lowercase letters, digits or hyphens, starting with a letter';

/** The project the job is logged in to, as gcloud and the client libraries would pick it. */
export function jobProject(): string {
  const env = process.env;
  return env.CLOUDSDK_CORE_PROJECT || env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT || env.CLOUDSDK_PROJECT || '';
}

export function readProjectId(input = 'project_id'): string {
  const given = readString(input, { pattern: PROJECT_ID_PATTERN, accepted: PROJECT_ID_ACCEPTED });
  if (given) return given;
  const fromJob = jobProject();
  if (!fromJob) {
    throw new InputError(input, '', 'no project was given and the job has no Google project set.', 'Set project_id, or run wif-login earlier in the job (it exports the project).');
  }
  if (!PROJECT_ID_PATTERN.test(fromJob)) {
    throw new InputError(input, fromJob, `the job's project (CLOUDSDK_CORE_PROJECT) is not ${PROJECT_ID_ACCEPTED}.`, 'Set project_id explicitly.');
  }
  return fromJob;
}
