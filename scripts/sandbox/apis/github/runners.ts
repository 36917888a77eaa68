// Self-hosted runners: list (repository and organization), just-in-time configuration, delete.
import { randomBytes } from 'node:crypto';
import type { GithubRunner } from './model.js';
import { gh, type GithubParts } from './parts.js';

export function runnerJson(r: GithubRunner) {
  return {
    id: r.id,
    name: r.name,
    os: r.os,
    status: r.status,
    busy: r.busy,
    ephemeral: r.ephemeral ?? false,
    runner_group_id: r.runner_group_id ?? 1,
    labels: r.labels.map((l) => ({ id: l.id, name: l.name, type: l.type })),
  };
}

export function runnerRoutes(p: GithubParts): void {
  const { st, maxId, toLabels, guard, paginate, repoOf, add } = p;
  const runnersDocs = 'https://docs.github.com/rest/actions/self-hosted-runners#list-self-hosted-runners-for-a-repository';

  add(
    'GET',
    '/github/repos/{owner}/{repo}/actions/runners',
    'runners.listForRepo',
    guard('runners.listForRepo', ['administration', 'read'], 'repo', runnersDocs, (req) => {
      const full = repoOf(req);
      let rs = st.runners.filter((r) => r.repository?.toLowerCase() === full.toLowerCase());
      const byName = req.query.get('name');
      if (byName) rs = rs.filter((r) => r.name === byName);
      const { page, headers } = paginate(req, rs);
      return { headers, json: { total_count: rs.length, runners: page.map(runnerJson) } };
    }),
  );
  add(
    'GET',
    '/github/orgs/{org}/actions/runners',
    'runners.listForOrg',
    guard('runners.listForOrg', ['organization_self_hosted_runners', 'read'], 'org', 'https://docs.github.com/rest/actions/self-hosted-runners#list-self-hosted-runners-for-an-organization', (req) => {
      const org = (req.params.org ?? '').toLowerCase();
      let rs = st.runners.filter((r) => r.org?.toLowerCase() === org);
      const byName = req.query.get('name');
      if (byName) rs = rs.filter((r) => r.name === byName);
      const { page, headers } = paginate(req, rs);
      return { headers, json: { total_count: rs.length, runners: page.map(runnerJson) } };
    }),
  );
  const jitDocs = 'https://docs.github.com/rest/actions/self-hosted-runners#create-configuration-for-a-just-in-time-runner-for-a-repository';
  add(
    'POST',
    '/github/repos/{owner}/{repo}/actions/runners/generate-jitconfig',
    'runners.generateJitconfig',
    guard('runners.generateJitconfig', ['administration', 'write'], 'repo', jitDocs, (req) => {
      let body: Record<string, unknown>;
      try {
        body = (JSON.parse(req.body.toString('utf8') || 'null') ?? {}) as Record<string, unknown>;
      } catch {
        return gh(400, 'Problems parsing JSON', jitDocs);
      }
      for (const field of ['name', 'runner_group_id', 'labels']) {
        if (body[field] === undefined) return gh(422, `Invalid request.\n\n"${field}" wasn't supplied.`, jitDocs);
      }
      const labels = body.labels;
      if (typeof body.name !== 'string' || body.name === '') return gh(422, 'Invalid request.\n\nFor \'properties/name\', is not a string.', jitDocs);
      if (typeof body.runner_group_id !== 'number') return gh(422, `Invalid request.\n\nFor 'properties/runner_group_id', ${JSON.stringify(body.runner_group_id)} is not an integer.`, jitDocs);
      if (!Array.isArray(labels) || labels.length < 1 || labels.length > 100 || labels.some((l) => typeof l !== 'string' || l === '')) {
        return gh(422, 'Invalid request.\n\nFor \'properties/labels\', expected 1 to 100 non-empty strings.', jitDocs);
      }
      if (body.work_folder !== undefined && typeof body.work_folder !== 'string') return gh(422, 'Invalid request.\n\nFor \'properties/work_folder\', is not a string.', jitDocs);
      const full = repoOf(req);
      if (st.runners.some((r) => r.repository?.toLowerCase() === full.toLowerCase() && r.name === body.name)) {
        return gh(409, `Already exists - A runner with the name ${body.name} already exists.`, jitDocs);
      }
      const names = ['self-hosted', ...(labels as string[]).filter((l) => l.toLowerCase() !== 'self-hosted')];
      const runner: GithubRunner = {
        id: maxId(st.runners) + 1,
        name: body.name,
        os: 'unknown',
        status: 'offline',
        busy: false,
        ephemeral: true,
        runner_group_id: body.runner_group_id,
        labels: toLabels(names),
        repository: full,
      };
      st.runners.push(runner);
      const jit = { '.runner': Buffer.from(JSON.stringify({ agentId: runner.id, agentName: runner.name, workFolder: body.work_folder ?? '_work', ephemeral: true })).toString('base64'), '.credentials': randomBytes(24).toString('base64') };
      return { status: 201, json: { runner: runnerJson(runner), encoded_jit_config: Buffer.from(JSON.stringify(jit)).toString('base64') } };
    }),
  );
  const deleteDocs = 'https://docs.github.com/rest/actions/self-hosted-runners#delete-a-self-hosted-runner-from-a-repository';
  add(
    'DELETE',
    '/github/repos/{owner}/{repo}/actions/runners/{runner_id}',
    'runners.delete',
    guard('runners.delete', ['administration', 'write'], 'repo', deleteDocs, (req) => {
      const full = repoOf(req).toLowerCase();
      const idx = st.runners.findIndex((r) => String(r.id) === req.params.runner_id && r.repository?.toLowerCase() === full);
      const runner = st.runners[idx];
      if (!runner) return gh(404, 'Not Found', deleteDocs);
      if (runner.busy) return gh(422, `Bad request - Runner "${runner.name}" is still running a job"`, deleteDocs);
      st.runners.splice(idx, 1);
      return { status: 204, body: '' };
    }),
  );
}
