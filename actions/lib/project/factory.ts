/**
 * project-create and project-archive: the steps in order, each converging, with a record of what
 * each did for the summary. A failure stops at the step that failed; the summary of the steps before
 * it says what exists, and a re-run picks up from there.
 */
import { ActionError } from '../errors.js';
import { githubRest, type GithubRest } from '../github/rest.js';
import { info } from '../runner.js';
import {
  applyGrant,
  archiveRepo,
  commitFiles,
  createRepo,
  factoryTopic,
  findRepo,
  openNextStepsIssue,
  platformVariables,
  protectBranch,
  readMarker,
  setTopics,
  setVariables,
  type Grant,
  type Step,
  type Variable,
  type Visibility,
} from './github.js';
import { MARKER, renderTemplate, type Marker } from './template.js';
import { trustByIam, trustByPullRequest, type TrustChange } from './trust.js';
import type { TrustInputs } from './inputs.js';

export interface CreateInputs extends TrustInputs {
  repository: string;
  visibility: Visibility;
  template: string;
  templateRepository: string;
  description: string;
  grants: Grant[];
  allowCloud: boolean;
  dataClass: 'public' | 'internal' | 'sensitive';
  trainImage: string;
  topics: string[];
  platform: string;
  token: string;
}

export interface Outcome {
  repository: string;
  url: string;
  created: boolean;
  steps: Step[];
  trust?: TrustChange;
  issueUrl?: string;
}

const varValue = (vars: Variable[], name: string): string | undefined => vars.find((v) => v.name === name)?.value;

export function nextStepsBody(i: CreateInputs, platformVars: Variable[]): string {
  return [
    `This repository was made by the platform's project factory from the \`${i.template}\` template.`,
    '',
    `- Data class: \`${i.dataClass}\`${i.dataClass === 'sensitive' ? ' (jobs never burst to the cloud)' : ''}; may burst: \`${i.allowCloud}\`.`,
    `- Repository variables copied from \`${i.platform}\`: ${platformVars.map((v) => `\`${v.name}\``).join(', ') || '(none found)'}.`,
    '',
    '## To do',
    '- [ ] Add the secret `MLABS_RUNNER_READ_TOKEN` (a token with Administration: read and Actions: read) so routing can see the self-hosted runners.',
    '- [ ] Add the secrets `MLABS_MINIO_ACCESS_KEY` and `MLABS_MINIO_SECRET_KEY` (the dgx stack\'s MinIO) so `promote` can read the registered model; secrets are never copied from the platform.',
    `- [ ] ${i.trust === 'pull-request' ? `Merge the Workload Identity pull request on \`${i.platform}\` and apply terraform/bootstrap.` : i.trust === 'iam' ? 'Workload Identity login was granted through the IAM API: add this repository to terraform/bootstrap/repositories.auto.tfvars.json on the platform too, or the next apply takes it away.' : 'Ask the platform owners to admit this repository to Workload Identity login.'}`,
    '- [ ] Build the trainer image (Dockerfile) and set `MLABS_TRAIN_IMAGE` if it is not the default.',
    '- [ ] Put the training data under `data/` on the private machines (never in git) and open `notebooks/finetune.ipynb`.',
  ].join('\n');
}

async function converge(gh: GithubRest, i: CreateInputs, repo: { full_name: string; default_branch: string; html_url: string }, created: boolean, steps: Step[], fresh: boolean): Promise<Outcome> {
  const full = repo.full_name;
  const platformVars = await platformVariables(gh, i.platform);
  const region = varValue(platformVars, 'MLABS_REGION');
  const project = varValue(platformVars, 'MLABS_PROJECT_ID');
  const name = full.split('/')[1] as string;
  const trainImage = i.trainImage || (region && project ? `${region}-docker.pkg.dev/${project}/apps/${name}-trainer:latest` : `${name}-trainer:latest`);

  if (fresh && !i.templateRepository) {
    const marker: Marker = { template: i.template, platform_repository: i.platform, data_class: i.dataClass, allow_cloud: i.allowCloud, created_by: 'mlabs project-create' };
    const files = renderTemplate(i.template, {
      PROJECT: name,
      REPOSITORY: full,
      DESCRIPTION: i.description,
      DATA_CLASS: i.dataClass,
      ALLOW_CLOUD: String(i.allowCloud),
      PLATFORM_REPOSITORY: i.platform,
      TRAIN_IMAGE: trainImage,
    });
    files.push({ path: MARKER, content: JSON.stringify(marker, null, 2) + '\n' });
    const sha = await commitFiles(gh, full, repo.default_branch, files, `Project ${name} from the ${i.template} template`);
    steps.push({ step: 'files', result: `${files.length} files in one commit (${sha.slice(0, 7)})` });
  }

  const own: Variable[] = [
    ...platformVars.filter((v) => !['MLABS_DATA_CLASS', 'MLABS_ALLOW_CLOUD', 'MLABS_TRAIN_IMAGE', 'MLABS_PLATFORM_REPOSITORY'].includes(v.name)),
    { name: 'MLABS_DATA_CLASS', value: i.dataClass },
    { name: 'MLABS_ALLOW_CLOUD', value: String(i.allowCloud) },
    { name: 'MLABS_TRAIN_IMAGE', value: trainImage },
    { name: 'MLABS_PLATFORM_REPOSITORY', value: i.platform },
  ];
  const v = await setVariables(gh, full, own);
  steps.push({ step: 'variables', result: `${v.created.length} created, ${v.updated.length} updated, ${v.unchanged.length} unchanged` });
  steps.push({ step: 'topics', result: await setTopics(gh, full, ['mlabs-project', factoryTopic(i.template), ...i.topics]) });
  steps.push({ step: 'branch protection', result: await protectBranch(gh, full, repo.default_branch) });
  for (const g of i.grants) steps.push({ step: 'grant', result: await applyGrant(gh, full, g) });

  let trust: TrustChange | undefined;
  if (i.trust === 'pull-request') trust = await trustByPullRequest(gh, i.platform, full, 'add');
  else if (i.trust === 'iam') {
    const provider = i.provider || varValue(platformVars, 'MLABS_WIF_PROVIDER') || '';
    const sa = i.serviceAccount || varValue(platformVars, 'MLABS_CI_SERVICE_ACCOUNT') || '';
    if (!provider || !sa) {
      throw new ActionError('trust: iam needs the Workload Identity provider and the CI service account.', {
        fix: `Set workload_identity_provider and service_account, or the variables MLABS_WIF_PROVIDER and MLABS_CI_SERVICE_ACCOUNT on ${i.platform}.`,
      });
    }
    trust = await trustByIam(provider, sa, full, 'add');
  }
  if (trust) steps.push({ step: `trust (${trust.mode})`, result: `${trust.action}${trust.url ? ` ${trust.url}` : ''}` });

  const issue = await openNextStepsIssue(gh, full, nextStepsBody(i, platformVars));
  steps.push({ step: 'next-steps issue', result: `${issue.created ? 'opened' : 'exists'} ${issue.url}` });
  return { repository: full, url: repo.html_url, created, steps, ...(trust ? { trust } : {}), issueUrl: issue.url };
}

export async function createProject(i: CreateInputs): Promise<Outcome> {
  if (i.repository.toLowerCase() === i.platform.toLowerCase()) {
    throw new ActionError(`${i.repository} is the platform repository itself.`, { fix: 'Name a new repository for the project.' });
  }
  const gh = githubRest(i.token);
  const steps: Step[] = [];
  const existing = await findRepo(gh, i.repository);
  if (!existing) {
    const repo = await createRepo(gh, { full: i.repository, description: i.description, visibility: i.visibility, ...(i.templateRepository ? { templateRepository: i.templateRepository } : {}) });
    info(`Created ${repo.full_name} (${i.visibility}).`);
    steps.push({ step: 'repository', result: `created (${i.visibility})` });
    // The topic first: a run that stops before the files are written is still recognised as ours.
    steps.push({ step: 'topics', result: await setTopics(gh, repo.full_name, [factoryTopic(i.template)]) });
    return converge(gh, i, repo, true, steps, true);
  }
  if (existing.archived) {
    throw new ActionError(`${existing.full_name} exists and is archived.`, { fix: 'Unarchive it in its settings first, or choose another name.' });
  }
  const marker = await readMarker(gh, existing.full_name, existing.default_branch);
  if (marker) {
    if (marker.template !== i.template) {
      throw new ActionError(`${existing.full_name} is already a project made from the ${marker.template} template, not ${i.template}.`, { fix: 'Choose another name, or run with the template it was made from.' });
    }
    steps.push({ step: 'repository', result: `exists (made from ${marker.template})` });
    return converge(gh, i, existing, false, steps, false);
  }
  const topics = (await gh.get<{ names: string[] }>(`/repos/${existing.full_name}/topics`)).names;
  if (topics.includes(factoryTopic(i.template))) {
    // An earlier run created the repository and stopped before its files: finish it.
    steps.push({ step: 'repository', result: 'exists (an earlier run stopped before the files)' });
    return converge(gh, i, existing, false, steps, !i.templateRepository);
  }
  throw new ActionError(`${existing.full_name} already exists and is not a project made by the factory (it has no ${MARKER}).`, {
    fix: 'Choose another name: project-create never writes into a repository it did not make.',
  });
}

export interface ArchiveInputs extends TrustInputs {
  repository: string;
  platform: string;
  token: string;
}

export async function archiveProject(i: ArchiveInputs): Promise<Outcome> {
  if (i.repository.toLowerCase() === i.platform.toLowerCase()) {
    throw new ActionError(`${i.repository} is the platform repository itself.`, { fix: 'Name a project repository.' });
  }
  const gh = githubRest(i.token);
  const repo = await findRepo(gh, i.repository);
  if (!repo) throw new ActionError(`${i.repository} does not exist (or github_token cannot see it).`, { fix: 'Check the name and the token.' });
  const marker = await readMarker(gh, repo.full_name, repo.default_branch);
  const topics = (await gh.get<{ names: string[] }>(`/repos/${repo.full_name}/topics`)).names;
  if (!marker && !topics.includes('mlabs-project')) {
    throw new ActionError(`${repo.full_name} is not a project made by the factory (no ${MARKER}, no mlabs-project topic).`, { fix: 'project-archive only archives factory-made projects; archive others by hand.' });
  }
  const steps: Step[] = [];
  let trust: TrustChange | undefined;
  if (i.trust === 'pull-request') trust = await trustByPullRequest(gh, i.platform, repo.full_name, 'remove');
  else if (i.trust === 'iam') {
    const vars = await platformVariables(gh, i.platform);
    const provider = i.provider || varValue(vars, 'MLABS_WIF_PROVIDER') || '';
    const sa = i.serviceAccount || varValue(vars, 'MLABS_CI_SERVICE_ACCOUNT') || '';
    if (!provider || !sa) throw new ActionError('trust: iam needs the Workload Identity provider and the CI service account.', { fix: `Set workload_identity_provider and service_account, or MLABS_WIF_PROVIDER and MLABS_CI_SERVICE_ACCOUNT on ${i.platform}.` });
    trust = await trustByIam(provider, sa, repo.full_name, 'remove');
  }
  if (trust) steps.push({ step: `trust (${trust.mode})`, result: `${trust.action}${trust.url ? ` ${trust.url}` : ''}` });
  steps.push({ step: 'repository', result: await archiveRepo(gh, repo.full_name) });
  return { repository: repo.full_name, url: repo.html_url, created: false, steps, ...(trust ? { trust } : {}) };
}
