// Every route the sandbox binds, with the IAM permission Google checks before answering it: the
// "Authorization requires the following IAM permission on the specified resource" line of each
// method's REST reference (cloud.google.com/kubernetes-engine/docs/reference/rest/v1/...,
// cloud.google.com/compute/docs/reference/rest/v1/..., cloud.google.com/storage/docs/json_api/v1/...
// with cloud.google.com/storage/docs/access-control/iam-json, artifact-registry, cloudquotas,
// resource-manager). The server checks this table once per request, before the handler runs
// (scripts/sandbox/iam/engine.ts); a route without an entry answers 500 naming this file, and
// test/sandbox/iam.test.ts fails, so every new route needs its line here.
//
// Keys: contract-bound routes `API.Service.Rpc` (service without package and version, e.g.
// `compute.Disks.Get`); hand-written routes `API.name` as given to router.add.

export interface PermissionCheck {
  permission: string;
  /**
   * The resource named in the refusal, a template over the route's path variables (`{name}`,
   * `{project}`...). Default: the request path after the API version, without a trailing
   * collection or `:verb`, e.g. `projects/p/locations/l/clusters/c` for a node pool create.
   */
  resource?: string;
}

export type RpcEntry =
  /** Google IAM checks these permissions (all of them) on the resource. */
  | { checks: PermissionCheck[]; note?: string }
  /** Not authorized by IAM: public, token exchange, or not a Google API. `why` says which. */
  | { none: string };

const c = (permission: string, resource?: string): PermissionCheck => (resource ? { permission, resource } : { permission });
const one = (permission: string, resource?: string): RpcEntry => ({ checks: [c(permission, resource)] });


export const RPC_PERMISSIONS: Record<string, RpcEntry> = {
  // ---- GKE: google.container.v1.ClusterManager --------------------------------------------------
  // A pool or cluster running as service account S also needs iam.serviceAccounts.actAs on S
  // (engine.ts adds it from the request body: nodePool.config.serviceAccount, the Compute Engine
  // default account when absent).
  'container.ClusterManager.ListClusters': one('container.clusters.list'),
  'container.ClusterManager.GetCluster': one('container.clusters.get'),
  'container.ClusterManager.CreateCluster': one('container.clusters.create'),
  'container.ClusterManager.SetLabels': one('container.clusters.update'),
  'container.ClusterManager.UpdateCluster': one('container.clusters.update'),
  'container.ClusterManager.DeleteCluster': one('container.clusters.delete'),
  'container.ClusterManager.ListNodePools': one('container.clusters.get'),
  'container.ClusterManager.GetNodePool': one('container.clusters.get'),
  'container.ClusterManager.CreateNodePool': one('container.clusters.update'),
  'container.ClusterManager.UpdateNodePool': one('container.clusters.update'),
  'container.ClusterManager.DeleteNodePool': one('container.clusters.update'),
  'container.ClusterManager.SetNodePoolSize': one('container.clusters.update'),
  'container.ClusterManager.SetNodePoolAutoscaling': one('container.clusters.update'),
  'container.ClusterManager.RollbackNodePoolUpgrade': one('container.clusters.update'),
  'container.ClusterManager.GetOperation': one('container.operations.get'),
  'container.ClusterManager.ListOperations': one('container.operations.list'),
  'container.ClusterManager.GetServerConfig': one('container.clusters.list'),

  // ---- Compute Engine ---------------------------------------------------------------------------
  'compute.Regions.Get': one('compute.regions.get'),
  'compute.Regions.List': one('compute.regions.list', 'projects/{project}'),
  'compute.Zones.Get': one('compute.zones.get'),
  'compute.Zones.List': one('compute.zones.list', 'projects/{project}'),
  'compute.Projects.Get': one('compute.projects.get'),
  'compute.AcceleratorTypes.Get': one('compute.acceleratorTypes.get'),
  'compute.AcceleratorTypes.List': one('compute.acceleratorTypes.list'),
  'compute.AcceleratorTypes.AggregatedList': one('compute.acceleratorTypes.list', 'projects/{project}'),
  'compute.MachineTypes.Get': one('compute.machineTypes.get'),
  'compute.MachineTypes.List': one('compute.machineTypes.list'),
  'compute.MachineTypes.AggregatedList': one('compute.machineTypes.list', 'projects/{project}'),
  'compute.Disks.Get': one('compute.disks.get'),
  'compute.Disks.List': one('compute.disks.list'),
  'compute.Disks.AggregatedList': one('compute.disks.list', 'projects/{project}'),
  'compute.Disks.Delete': one('compute.disks.delete'),
  'compute.Disks.CreateSnapshot': {
    checks: [c('compute.disks.createSnapshot', 'projects/{project}/zones/{zone}/disks/{disk}'), c('compute.snapshots.create', 'projects/{project}')],
  },
  'compute.Snapshots.Get': one('compute.snapshots.get'),
  'compute.Snapshots.List': one('compute.snapshots.list', 'projects/{project}'),
  'compute.Snapshots.Delete': one('compute.snapshots.delete'),
  'compute.ZoneOperations.Get': one('compute.zoneOperations.get'),
  'compute.ZoneOperations.List': one('compute.zoneOperations.list'),
  'compute.ZoneOperations.Wait': one('compute.zoneOperations.get'),
  'compute.GlobalOperations.Get': one('compute.globalOperations.get'),
  'compute.GlobalOperations.List': one('compute.globalOperations.list', 'projects/{project}'),
  'compute.GlobalOperations.Wait': one('compute.globalOperations.get'),
  'compute.InstanceGroupManagers.Get': one('compute.instanceGroupManagers.get'),
  'compute.InstanceGroupManagers.List': one('compute.instanceGroupManagers.list'),
  'compute.InstanceGroupManagers.AggregatedList': one('compute.instanceGroupManagers.list', 'projects/{project}'),
  'compute.InstanceGroups.Get': one('compute.instanceGroups.get'),
  'compute.InstanceGroups.List': one('compute.instanceGroups.list'),
  'compute.Autoscalers.List': one('compute.autoscalers.list'),

  // ---- Cloud Storage JSON API (hand-modelled routes) ---------------------------------------------
  'storage.buckets.list': one('storage.buckets.list', 'projects/{project}'),
  'storage.buckets.insert': one('storage.buckets.create', 'projects/{project}'),
  'storage.buckets.get': one('storage.buckets.get', 'projects/_/buckets/{bucket}'),
  'storage.buckets.delete': one('storage.buckets.delete', 'projects/_/buckets/{bucket}'),
  'storage.buckets.patch': one('storage.buckets.update', 'projects/_/buckets/{bucket}'),
  'storage.buckets.update': one('storage.buckets.update', 'projects/_/buckets/{bucket}'),
  'storage.buckets.getStorageLayout': one('storage.buckets.get', 'projects/_/buckets/{bucket}'),
  'storage.objects.list': one('storage.objects.list', 'projects/_/buckets/{bucket}'),
  'storage.objects.get': one('storage.objects.get', 'projects/_/buckets/{bucket}/objects/{object}'),
  'storage.objects.insert': one('storage.objects.create', 'projects/_/buckets/{bucket}'),
  'storage.objects.delete': one('storage.objects.delete', 'projects/_/buckets/{bucket}/objects/{object}'),
  'storage.objects.patch': one('storage.objects.update', 'projects/_/buckets/{bucket}/objects/{object}'),
  'storage.objects.update': one('storage.objects.update', 'projects/_/buckets/{bucket}/objects/{object}'),
  'storage.objects.copy': {
    checks: [c('storage.objects.get', 'projects/_/buckets/{bucket}/objects/{object}'), c('storage.objects.create', 'projects/_/buckets/{dbucket}')],
  },
  'storage.objects.rewrite': {
    checks: [c('storage.objects.get', 'projects/_/buckets/{bucket}/objects/{object}'), c('storage.objects.create', 'projects/_/buckets/{dbucket}')],
  },

  // ---- Artifact Registry: google.devtools.artifactregistry.v1.ArtifactRegistry -------------------
  'artifactregistry.ArtifactRegistry.ListLocations': one('artifactregistry.locations.list'),
  'artifactregistry.ArtifactRegistry.GetLocation': one('artifactregistry.locations.get'),
  'artifactregistry.ArtifactRegistry.ListRepositories': one('artifactregistry.repositories.list'),
  'artifactregistry.ArtifactRegistry.GetRepository': one('artifactregistry.repositories.get'),
  'artifactregistry.ArtifactRegistry.CreateRepository': one('artifactregistry.repositories.create'),
  'artifactregistry.ArtifactRegistry.UpdateRepository': one('artifactregistry.repositories.update'),
  'artifactregistry.ArtifactRegistry.DeleteRepository': one('artifactregistry.repositories.delete'),
  'artifactregistry.ArtifactRegistry.ListDockerImages': one('artifactregistry.dockerimages.list'),
  'artifactregistry.ArtifactRegistry.GetDockerImage': one('artifactregistry.dockerimages.get'),
  'artifactregistry.ArtifactRegistry.ListPackages': one('artifactregistry.packages.list'),
  'artifactregistry.ArtifactRegistry.GetPackage': one('artifactregistry.packages.get'),
  'artifactregistry.ArtifactRegistry.DeletePackage': one('artifactregistry.packages.delete'),
  'artifactregistry.ArtifactRegistry.ListVersions': one('artifactregistry.versions.list'),
  'artifactregistry.ArtifactRegistry.GetVersion': one('artifactregistry.versions.get'),
  'artifactregistry.ArtifactRegistry.DeleteVersion': one('artifactregistry.versions.delete'),
  'artifactregistry.ArtifactRegistry.ListTags': one('artifactregistry.tags.list'),
  'artifactregistry.ArtifactRegistry.GetTag': one('artifactregistry.tags.get'),
  'artifactregistry.ArtifactRegistry.CreateTag': one('artifactregistry.tags.create'),
  'artifactregistry.ArtifactRegistry.UpdateTag': one('artifactregistry.tags.update'),
  'artifactregistry.ArtifactRegistry.DeleteTag': one('artifactregistry.tags.delete'),
  // Routes modelled by hand (version names and image digests hold ':', which Google's templates cannot match).
  'artifactregistry.GetVersion': one('artifactregistry.versions.get'),
  'artifactregistry.DeleteVersion': one('artifactregistry.versions.delete'),
  'artifactregistry.GetDockerImage': one('artifactregistry.dockerimages.get'),
  // No operations permission exists in Artifact Registry's roles; reading a repository's
  // operation is allowed to whoever may read repositories.
  'artifactregistry.ArtifactRegistry.GetOperation': { checks: [c('artifactregistry.repositories.get')], note: 'operations are authorized as repository reads' },
  'artifactregistry.GetOperation': { checks: [c('artifactregistry.repositories.get')], note: 'operations are authorized as repository reads' },

  // ---- Cloud Quotas: google.api.cloudquotas.{v1,v1beta}.CloudQuotas ------------------------------
  'cloudquotas.CloudQuotas.ListQuotaInfos': one('cloudquotas.quotas.get'),
  'cloudquotas.CloudQuotas.GetQuotaInfo': one('cloudquotas.quotas.get'),
  'cloudquotas.CloudQuotas.ListQuotaPreferences': one('cloudquotas.quotas.get'),
  'cloudquotas.CloudQuotas.GetQuotaPreference': one('cloudquotas.quotas.get'),
  'cloudquotas.CloudQuotas.CreateQuotaPreference': one('cloudquotas.quotas.update'),
  'cloudquotas.CloudQuotas.UpdateQuotaPreference': one('cloudquotas.quotas.update'),

  // ---- Resource Manager, Service Usage, IAM reads ------------------------------------------------
  'cloudresourcemanager.projects.get': one('resourcemanager.projects.get', 'projects/{projectId}'),
  'serviceusage.ListServices': one('serviceusage.services.list', 'projects/{project}'),
  'serviceusage.GetService': one('serviceusage.services.get', 'projects/{project}'),
  'iam.ListServiceAccounts': one('iam.serviceAccounts.list', 'projects/{project}'),
  'iam.GetServiceAccount': one('iam.serviceAccounts.get', 'projects/-/serviceAccounts/{account}'),
  'iam.GetIamPolicy': one('iam.serviceAccounts.getIamPolicy', 'projects/-/serviceAccounts/{account}'),
  'iam.ListWorkloadIdentityPools': one('iam.googleapis.com/workloadIdentityPools.list', 'projects/{project}'),
  'iam.GetWorkloadIdentityPool': one('iam.googleapis.com/workloadIdentityPools.get', 'projects/{project}'),
  'iam.ListWorkloadIdentityPoolProviders': one('iam.googleapis.com/workloadIdentityPoolProviders.list', 'projects/{project}'),
  // The project factory's trust: iam (project-create / project-archive).
  'artifactregistry.ListLocations': one('artifactregistry.locations.list', 'projects/{project}'),
  'iam.GetWorkloadIdentityPoolProvider': one('iam.googleapis.com/workloadIdentityPoolProviders.get'),
  'iam.UpdateWorkloadIdentityPoolProvider': one('iam.googleapis.com/workloadIdentityPoolProviders.update'),
  'iam.SetIamPolicy': one('iam.serviceAccounts.setIamPolicy', 'projects/-/serviceAccounts/{account}'),

  // ---- Not authorized by IAM here ----------------------------------------------------------------
  // The Cloud Billing Catalog (public prices) needs any credential, no permission.
  'cloudbilling.CloudCatalog.ListServices': { none: 'public catalog: any valid credential' },
  'cloudbilling.CloudCatalog.ListSkus': { none: 'public catalog: any valid credential' },
  // IAM Credentials checks iam.serviceAccounts.getAccessToken / getOpenIdToken itself, against the
  // service account's own policy (the Terraform's bindings on it: bootstrap's ci_wif) and the
  // project's (apis/iamcredentials.ts), with IAM Credentials' 403 shape (no resource in the message).
  'iamcredentials.GenerateAccessToken': { none: 'apis/iamcredentials.ts checks the account\'s own bindings' },
  'iamcredentials.GenerateIdToken': { none: 'apis/iamcredentials.ts checks the account\'s own bindings' },
  'sts.token': { none: 'token exchange: the subject token is the credential' },
  'github-oidc.idtoken': { none: 'GitHub, not a Google API' },
  'github-oidc.jwks': { none: 'GitHub, not a Google API' },
  'github-oidc.openid-configuration': { none: 'GitHub, not a Google API' },
  'github.*': { none: 'GitHub, not a Google API (its own token permissions, apis/github-rest.ts)' },
  'mlflow.*': { none: 'the local MLflow on the dgx machine, not a Google API' },
  's3.*': { none: 'the local MinIO (S3 API, SigV4), not a Google API' },
  // Artifact Registry's Docker hosts: the registry answers in its own shape (401 challenge, 403
  // `{"errors":[{"code":"DENIED",...}]}`), so apis/docker-registry.ts checks IAM itself on every
  // repository path: pull artifactregistry.repositories.downloadArtifacts, push uploadArtifacts,
  // delete deleteArtifacts, on projects/P/locations/L/repositories/R.
  'docker-registry.*': { none: 'apis/docker-registry.ts checks downloadArtifacts / uploadArtifacts / deleteArtifacts on the repository, in the registry\'s error shape' },
};

/** The entry for a route, or undefined when the table lacks it. */
export function rpcEntry(key: string, api: string): RpcEntry | undefined {
  return RPC_PERMISSIONS[key] ?? RPC_PERMISSIONS[`${api}.*`];
}

