import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { archiveProject } from '../lib/project/factory.js';
import { readRepository, readToken, readTrust } from '../lib/project/inputs.js';
import { projectSummary } from '../lib/project/summary.js';
import { setOutput } from '../lib/runner.js';

/** Every input, read and checked once. */
function readInputs() {
  const token = readToken();
  const repository = readRepository('repository', true);
  const platform = readRepository('platform_repository', false) || (process.env.GITHUB_REPOSITORY ?? '');
  if (platform === '') throw new InputError('platform_repository', '', 'expected owner/name (GITHUB_REPOSITORY is not set either).');
  return { token, repository, platform, ...readTrust() };
}

await runAction({
  main: async () => {
    const o = await archiveProject(readInputs());
    setOutput('repository', o.repository);
    setOutput('trust', o.trust?.action ?? 'skipped');
    setOutput('trust_url', o.trust?.url ?? '');
    projectSummary('Project archived', o).write();
  },
});
