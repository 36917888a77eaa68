// Regenerates roles.json from a clone of github.com/iann0036/iam-dataset (gcp/roles/*.json, which
// that project refreshes daily from Google's IAM roles API, the same data as the per-service pages
// at https://docs.cloud.google.com/iam/docs/roles-permissions/SERVICE).
//   git clone https://github.com/iann0036/iam-dataset /tmp/iam-dataset
//   node scripts/sandbox/iam/build-roles.mjs /tmp/iam-dataset [COMMIT] [DATE]
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const [clone, commit = 'unknown', date = new Date().toISOString().slice(0, 10)] = process.argv.slice(2);
if (!clone) throw new Error('usage: build-roles.mjs PATH_TO_IAM_DATASET [COMMIT] [DATE]');
const ROLES = [
  'container.admin', 'container.clusterAdmin', 'container.clusterViewer', 'container.developer', 'container.viewer',
  'container.defaultNodeServiceAccount', 'container.nodeServiceAccount',
  'artifactregistry.admin', 'artifactregistry.repoAdmin', 'artifactregistry.writer', 'artifactregistry.reader',
  'storage.admin', 'storage.objectAdmin', 'storage.objectUser', 'storage.objectCreator', 'storage.objectViewer', 'storage.bucketViewer',
  'compute.admin', 'compute.viewer', 'compute.storageAdmin',
  'cloudquotas.admin', 'cloudquotas.viewer',
  'serviceusage.serviceUsageConsumer', 'serviceusage.serviceUsageViewer', 'serviceusage.serviceUsageAdmin',
  'iam.serviceAccountUser', 'iam.workloadIdentityUser', 'iam.serviceAccountTokenCreator', 'iam.serviceAccountViewer', 'iam.workloadIdentityPoolViewer',
  'iam.serviceAccountAdmin', 'iam.workloadIdentityPoolAdmin',
  'browser', 'resourcemanager.projectIamAdmin', 'billing.viewer',
  'logging.logWriter', 'monitoring.metricWriter', 'monitoring.viewer', 'stackdriver.resourceMetadata.writer',
];
const roles = {};
for (const r of ROLES) {
  const j = JSON.parse(readFileSync(join(clone, 'gcp', 'roles', `${r}.json`), 'utf8'));
  roles[`roles/${r}`] = { title: j.title, stage: j.stage, permissions: [...j.includedPermissions].sort() };
}
const out = {
  source: 'Google Cloud IAM predefined roles, https://docs.cloud.google.com/iam/docs/roles-permissions/ (one page per service: container, artifactregistry, storage, compute, cloudquotas, serviceusage, iam, resourcemanager, billing, logging, monitoring, stackdriver), as mirrored from the IAM roles API by github.com/iann0036/iam-dataset gcp/roles/',
  commit,
  date,
  basicRoles: 'roles/owner, roles/editor and roles/viewer are not listed (thousands of permissions); the sandbox treats roles/owner as every permission.',
  roles,
};
writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'roles.json'), `${JSON.stringify(out, null, 1)}\n`);
