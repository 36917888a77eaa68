// Workflow runs (list, by status) and the jobs of a run.
import type { GithubJob, GithubRun } from './model.js';
import { gh, type GithubParts } from './parts.js';

export function runRoutes(p: GithubParts): void {
  const { st, base, guard, paginate, repoOf, add } = p;
  const runJson = (r: GithubRun) => {
    const url = `${base}/repos/${r.repository}/actions/runs/${r.id}`;
    return {
      id: r.id,
      name: r.name,
      node_id: `WFR_${r.id}`,
      head_branch: r.head_branch,
      head_sha: r.head_sha,
      path: `.github/workflows/${r.name}.yml`,
      run_number: r.run_number,
      run_attempt: r.run_attempt,
      event: r.event,
      status: r.status,
      conclusion: r.conclusion,
      workflow_id: 1,
      url,
      html_url: `https://github.com/${r.repository}/actions/runs/${r.id}`,
      jobs_url: `${url}/jobs`,
      created_at: r.created_at,
      updated_at: r.updated_at,
      run_started_at: r.created_at,
    };
  };
  const jobJson = (j: GithubJob, repository: string) => ({
    id: j.id,
    run_id: j.run_id,
    run_url: `${base}/repos/${repository}/actions/runs/${j.run_id}`,
    node_id: `CR_${j.id}`,
    head_sha: j.head_sha,
    head_branch: j.head_branch,
    url: `${base}/repos/${repository}/actions/jobs/${j.id}`,
    html_url: `https://github.com/${repository}/actions/runs/${j.run_id}/job/${j.id}`,
    status: j.status,
    conclusion: j.conclusion,
    created_at: j.created_at,
    started_at: j.started_at,
    completed_at: j.completed_at,
    name: j.name,
    steps: [],
    labels: j.labels,
    runner_id: j.runner_id,
    runner_name: j.runner_name,
    runner_group_id: j.runner_group_id,
    runner_group_name: j.runner_group_name,
    workflow_name: j.workflow_name,
  });

  const runsDocs = 'https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-repository';
  add(
    'GET',
    '/github/repos/{owner}/{repo}/actions/runs',
    'runs.listForRepo',
    guard('runs.listForRepo', ['actions', 'read'], 'repo', runsDocs, (req) => {
      const full = repoOf(req).toLowerCase();
      const status = req.query.get('status');
      const runs = st.runs
        .filter((r) => r.repository.toLowerCase() === full && (!status || r.status === status || r.conclusion === status))
        .sort((a, b) => b.id - a.id);
      const { page, headers } = paginate(req, runs);
      return { headers, json: { total_count: runs.length, workflow_runs: page.map(runJson) } };
    }),
  );
  const jobsDocs = 'https://docs.github.com/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run';
  add(
    'GET',
    '/github/repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
    'jobs.listForRun',
    guard('jobs.listForRun', ['actions', 'read'], 'repo', jobsDocs, (req) => {
      const full = repoOf(req);
      const run = st.runs.find((r) => String(r.id) === req.params.run_id && r.repository.toLowerCase() === full.toLowerCase());
      if (!run) return gh(404, 'Not Found', jobsDocs);
      const jobs = st.jobs.filter((j) => j.run_id === run.id).sort((a, b) => a.id - b.id);
      const { page, headers } = paginate(req, jobs);
      return { headers, json: { total_count: jobs.length, jobs: page.map((j) => jobJson(j, run.repository)) } };
    }),
  );
}
