// The Workload Identity Federation model shared by the STS and IAM Credentials modules:
// pools and providers (seed section `workloadIdentity`) and service accounts with their
// IAM bindings (seed section `iam`).

export type ResourceState = 'ACTIVE' | 'DISABLED' | 'DELETED';

export interface ProviderSeed {
  providerId: string;
  state?: ResourceState;
  /** OIDC issuer the provider trusts (default GitHub's). */
  issuerUri?: string;
  /** Accepted `aud` values; empty = the provider's canonical https://iam.googleapis.com/... name. */
  allowedAudiences?: string[];
  /** `google.subject`, `attribute.NAME` -> CEL over `assertion`. */
  attributeMapping?: Record<string, string>;
  /** CEL over assertion / attribute / google; empty = every token with a valid signature. */
  attributeCondition?: string;
}

export interface PoolSeed {
  projectNumber?: string;
  poolId: string;
  state?: ResourceState;
  providers: ProviderSeed[];
}

export interface WorkloadIdentitySeed {
  pools: PoolSeed[];
  /** The next N token exchanges answer 429 quota_exceeded (STS's own OAuth-shaped throttle). */
}

export interface Binding {
  role: string;
  /** principal://..., principalSet://..., serviceAccount:EMAIL, user:EMAIL */
  members: string[];
}

export interface ServiceAccountSeed {
  email: string;
  uniqueId?: string;
  disabled?: boolean;
  /**
   * The account's own IAM policy. Absent: the bindings the Terraform (or the seed's `iamPolicy`)
   * sets on `projects/-/serviceAccounts/EMAIL` (bootstrap's `ci_wif`, modules/iam's `ci_uses_nodes`);
   * setIamPolicy writes it, and from then on it is the policy.
   */
  bindings?: Binding[];
}

/** The IAM service's view the account modules need (scripts/sandbox/iam/engine.ts). */
export interface AccountPolicySource {
  currentPolicy(): Promise<unknown>;
  resourceBindings(resource: string): Binding[];
}

/** The account's own policy: its seeded or set bindings, else the Terraform's on it (load the policy first). */
export function accountBindings(sa: ServiceAccountSeed, iam: AccountPolicySource | undefined): Binding[] {
  if (sa.bindings) return sa.bindings;
  return (iam?.resourceBindings(`projects/-/serviceAccounts/${sa.email}`) ?? []).map((b) => ({ role: b.role, members: [...b.members] }));
}

export interface IamSeed {
  serviceAccounts: ServiceAccountSeed[];
  /** constraints/iam.allowServiceAccountCredentialLifetimeExtension: true (all) or the emails allowed up to 12 h. */
  allowLifetimeExtension?: boolean | string[];
}

export const IAM_HOST = 'iam.googleapis.com';

export function poolName(projectNumber: string, poolId: string): string {
  return `projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}`;
}

export function providerName(projectNumber: string, poolId: string, providerId: string): string {
  return `${poolName(projectNumber, poolId)}/providers/${providerId}`;
}

export function defaultWorkloadIdentity(projectNumber: string): WorkloadIdentitySeed {
  return {
    pools: [
      {
        projectNumber,
        poolId: 'github',
        state: 'ACTIVE',
        providers: [
          {
            providerId: 'github-actions',
            state: 'ACTIVE',
            issuerUri: 'https://token.actions.githubusercontent.com',
            allowedAudiences: [],
            attributeMapping: {
              'google.subject': 'assertion.sub',
              'attribute.repository': 'assertion.repository',
              'attribute.repository_owner': 'assertion.repository_owner',
              'attribute.ref': 'assertion.ref',
              'attribute.workflow_ref': 'assertion.workflow_ref',
              'attribute.environment': 'assertion.environment',
            },
            attributeCondition: 'assertion.repository == "mlabs/platform"',
          },
        ],
      },
    ],
  };
}

export function defaultIam(projectId: string): IamSeed {
  return {
    serviceAccounts: [
      // Their own policies (who may impersonate or act as them) come from the Terraform: see accountBindings().
      { email: `mlabs-ci@${projectId}.iam.gserviceaccount.com`, uniqueId: '100000000000000000001' },
      { email: `mlabs-nodes@${projectId}.iam.gserviceaccount.com`, uniqueId: '100000000000000000002' },
    ],
    allowLifetimeExtension: false,
  };
}

export function findPool(wi: WorkloadIdentitySeed, projectNumber: string, poolId: string, defaultNumber: string): PoolSeed | undefined {
  return wi.pools.find((p) => (p.projectNumber ?? defaultNumber) === projectNumber && p.poolId === poolId);
}

/** The identities a federated token stands for, as IAM members. */
export function federatedMembers(projectNumber: string, poolId: string, subject: string, attributes: Record<string, string>): { principal: string; principalSets: string[] } {
  const pool = `${IAM_HOST}/${poolName(projectNumber, poolId)}`;
  const principalSets = [`principalSet://${pool}/*`];
  for (const [k, v] of Object.entries(attributes)) principalSets.push(`principalSet://${pool}/attribute.${k}/${v}`);
  return { principal: `principal://${pool}/subject/${subject}`, principalSets };
}
