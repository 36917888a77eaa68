/**
 * What a workflow run gets without flags: the repository variables terraform/bootstrap (and the
 * settings envs/dev reads) would give for the sandbox's project, and the secrets the sandbox honours.
 */
import type { Sandbox } from '../sandbox/index.js';

interface GithubSeed {
  github?: { tokens?: { token: string; login: string }[] };
  workloadIdentity?: { pools?: { projectNumber: string; poolId: string; providers?: { providerId: string }[] }[] };
  iam?: { serviceAccounts?: { email: string }[] };
}

/** The repository variables for `project` (the names terraform/bootstrap's repository_variables output prints, plus those the workflows read). */
export function sandboxVars(project: { projectId: string; projectNumber: string; region: string }, seed: GithubSeed = {}): Record<string, string> {
  const pool = seed.workloadIdentity?.pools?.[0];
  const provider = pool
    ? `projects/${pool.projectNumber}/locations/global/workloadIdentityPools/${pool.poolId}/providers/${pool.providers?.[0]?.providerId ?? 'github-actions'}`
    : `projects/${project.projectNumber}/locations/global/workloadIdentityPools/github/providers/github-actions`;
  const ci = seed.iam?.serviceAccounts?.find((s) => s.email.startsWith('mlabs-ci@'))?.email ?? `mlabs-ci@${project.projectId}.iam.gserviceaccount.com`;
  const nodes = seed.iam?.serviceAccounts?.find((s) => s.email.startsWith('mlabs-nodes@'))?.email ?? `mlabs-nodes@${project.projectId}.iam.gserviceaccount.com`;
  return {
    // terraform/bootstrap output repository_variables
    MLABS_WIF_PROVIDER: provider,
    MLABS_CI_SERVICE_ACCOUNT: ci,
    MLABS_TFSTATE_BUCKET: `${project.projectId}-tfstate`,
    MLABS_PROJECT_ID: project.projectId,
    MLABS_REGION: project.region,
    // terraform/envs/dev outputs (cluster_name; its location is MLABS_REGION; snapshot_bucket)
    MLABS_CLUSTER: 'mlabs',
    MLABS_NODEPOOL_SNAPSHOT_BUCKET: `${project.projectId}-nodepool-snapshots`,
    // The runner image build-mlabs-runner pushes (terraform/envs/dev output runner_registry + image name)
    MLABS_RUNNER_IMAGE: `${project.region}-docker.pkg.dev/${project.projectId}/mlabs-runner/mlabs-runner`,
    // Set by the platform's owner; the sandbox accepts any address.
    MLABS_QUOTA_CONTACT_EMAIL: 'gpu-admins@example.com',
    // The label of the machine that runs the control jobs (routing, login check, platform, cost-cleanup).
    MLABS_CONTROL_RUNNER: 'wsl2',
    // terraform/bootstrap output repository_variables (modules/iam's node service account)
    MLABS_NODE_SERVICE_ACCOUNT: nodes,
  };
}

/** Secrets the sandbox can honour: GITHUB_TOKEN (the workflow token) and the runners-read PAT. */
export function sandboxSecrets(seed: GithubSeed = {}): Record<string, string> {
  const tokens = seed.github?.tokens ?? [];
  const out: Record<string, string> = {};
  const bot = tokens.find((t) => t.login === 'github-actions[bot]');
  const pat = tokens.find((t) => t.login !== 'github-actions[bot]');
  if (bot) out.GITHUB_TOKEN = bot.token;
  if (pat) out.MLABS_RUNNER_READ_TOKEN = pat.token;
  return out;
}

/** Required dispatch inputs with no default that name a repository variable: filled from it when not given. */
export const INPUTS_FROM_VARS: Record<string, string> = {
  workload_identity_provider: 'MLABS_WIF_PROVIDER',
  service_account: 'MLABS_CI_SERVICE_ACCOUNT',
};

export function sandboxDefaults(sb: Pick<Sandbox, 'project' | 'dump'> & { env?: Record<string, string> }): { vars: Record<string, string>; secrets: Record<string, string> } {
  const seed = sb.dump() as GithubSeed;
  const env = sb.env ?? {};
  // The DGX's local MLflow and MinIO: the sandbox's stand-ins, when it runs them.
  const local: Record<string, string> = env.MLFLOW_TRACKING_URI && env.AWS_ENDPOINT_URL ? { MLABS_MLFLOW_URI: env.MLFLOW_TRACKING_URI, MLABS_MINIO_ENDPOINT: env.AWS_ENDPOINT_URL } : {};
  const minio: Record<string, string> = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY ? { MLABS_MINIO_ACCESS_KEY: env.AWS_ACCESS_KEY_ID, MLABS_MINIO_SECRET_KEY: env.AWS_SECRET_ACCESS_KEY } : {};
  return { vars: { ...sandboxVars(sb.project, seed), ...local }, secrets: { ...sandboxSecrets(seed), ...minio } };
}
