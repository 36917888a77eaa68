/**
 * Where each Google API lives. The suite reads the same variables gcloud reads
 * (CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>), so one set of variables points both at
 * a sandbox; unset, the real Google endpoints are used.
 */
export type GoogleApi =
  | 'container'
  | 'storage'
  | 'compute'
  | 'cloudquotas'
  | 'iamcredentials'
  | 'sts'
  | 'artifactregistry'
  | 'cloudbilling'
  | 'iam';

/** Base URLs, each ending in '/', to which the API's own path (e.g. `v1/projects/...`) is appended. */
const GOOGLE: Record<GoogleApi, string> = {
  container: 'https://container.googleapis.com/',
  storage: 'https://storage.googleapis.com/storage/v1/',
  compute: 'https://compute.googleapis.com/compute/v1/',
  cloudquotas: 'https://cloudquotas.googleapis.com/',
  iamcredentials: 'https://iamcredentials.googleapis.com/',
  sts: 'https://sts.googleapis.com/',
  artifactregistry: 'https://artifactregistry.googleapis.com/',
  cloudbilling: 'https://cloudbilling.googleapis.com/',
  iam: 'https://iam.googleapis.com/',
};

export function apiBase(api: GoogleApi): string {
  const override = process.env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.toUpperCase()}`]?.trim();
  const base = override || GOOGLE[api];
  return base.endsWith('/') ? base : base + '/';
}

/** `apiUrl('container', 'v1/projects/p/locations/l/clusters/c')`. */
export function apiUrl(api: GoogleApi, path: string): string {
  return apiBase(api) + path.replace(/^\//, '');
}

/** Cloud Storage uploads go to `<root>/upload/storage/v1/...` beside the JSON API's `<root>/storage/v1/`. */
export function storageUploadBase(): string {
  return apiBase('storage').replace(/storage\/v1\/$/, 'upload/storage/v1/');
}
