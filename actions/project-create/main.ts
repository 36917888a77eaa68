import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { readBool, readEnum, readList, readString } from '../lib/inputs.js';
import { createProject } from '../lib/project/factory.js';
import { readGrants, readRepository, readToken, readTrust } from '../lib/project/inputs.js';
import { projectSummary } from '../lib/project/summary.js';
import { listTemplates } from '../lib/project/template.js';
import { setOutput } from '../lib/runner.js';

/** Every input, read and checked once. */
function readInputs() {
  const token = readToken();
  const repository = readRepository('repository', true);
  const templateRepository = readRepository('template_repository', false);
  const template = readString('template', { required: true });
  const templates = listTemplates();
  if (!templates.includes(template)) throw new InputError('template', template, `expected one of the suite's templates: ${templates.join(', ')}.`);
  const platform = readRepository('platform_repository', false) || (process.env.GITHUB_REPOSITORY ?? '');
  if (platform === '') throw new InputError('platform_repository', '', 'expected owner/name (GITHUB_REPOSITORY is not set either).');
  const description = readString('description');
  if (/[\r\n]/.test(description) || description.length > 350) throw new InputError('description', description, 'expected one line of at most 350 characters.');
  return {
    token,
    repository,
    templateRepository,
    template,
    platform,
    description,
    visibility: readEnum('visibility', ['private', 'internal', 'public'] as const),
    grants: readGrants('grants'),
    allowCloud: readBool('allow_cloud'),
    dataClass: readEnum('data_class', ['public', 'internal', 'sensitive'] as const),
    trainImage: readString('train_image', { pattern: /^[a-z0-9][a-z0-9./_:@-]{0,254}$/, accepted: 'an image reference such as us-central1-docker.pkg.dev/PROJECT/apps/NAME:TAG' }),
    topics: readList('topics', { item: /^[a-z0-9][a-z0-9-]{0,49}$/, accepted: 'a GitHub topic (lowercase letters, digits and hyphens, at most 50)' }),
    ...readTrust(),
  };
}

await runAction({
  main: async () => {
    const inputs = readInputs();
    const o = await createProject(inputs);
    setOutput('repository', o.repository);
    setOutput('url', o.url);
    setOutput('created', o.created);
    setOutput('trust', o.trust?.action ?? 'skipped');
    setOutput('trust_url', o.trust?.url ?? '');
    setOutput('issue_url', o.issueUrl ?? '');
    projectSummary(o.created ? 'Project created' : 'Project already there', o).write();
  },
});
