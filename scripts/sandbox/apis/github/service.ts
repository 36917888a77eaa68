// The test-facing service (ctx.services.get('github-rest')): runners, queued jobs, tokens, issues, reset.
import { randomBytes } from 'node:crypto';
import type { GithubJob, GithubRestService, GithubRunner, GithubToken } from './model.js';
import { nowIso, type GithubParts } from './parts.js';

export function githubService(p: GithubParts): GithubRestService {
  const { st, pristine, maxId, toLabels } = p;
  const defaultRepo = (): string => {
    const r = st.repos[0];
    if (!r) throw new Error('github seed has no repository');
    return `${r.owner}/${r.name}`;
  };
  const refreshRun = (runId: number): void => {
    const run = st.runs.find((r) => r.id === runId);
    if (!run) return;
    const jobs = st.jobs.filter((j) => j.run_id === runId);
    run.status = jobs.every((j) => j.status === 'completed') ? 'completed' : jobs.some((j) => j.status !== 'queued') ? 'in_progress' : 'queued';
    if (run.status === 'completed') run.conclusion = jobs.every((j) => j.conclusion === 'success') ? 'success' : 'failure';
    run.updated_at = nowIso();
  };
  return {
    state: st,
    runner: (name) => st.runners.find((r) => r.name === name),
    setRunner(name, patch) {
      const r = st.runners.find((x) => x.name === name);
      if (!r) throw new Error(`no runner named ${name}`);
      Object.assign(r, patch);
      return r;
    },
    addRunner(r) {
      const runner: GithubRunner = {
        id: maxId(st.runners) + 1,
        name: r.name,
        os: r.os ?? 'Linux',
        status: r.status ?? 'online',
        busy: r.busy ?? false,
        labels: toLabels(r.labels),
        ...(r.org ? { org: r.org } : { repository: r.repository ?? defaultRepo() }),
      };
      st.runners.push(runner);
      return runner;
    },
    queueJob(opts) {
      const created = opts.createdAt === undefined ? nowIso() : new Date(opts.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
      let run = opts.runId === undefined ? undefined : st.runs.find((r) => r.id === opts.runId);
      if (opts.runId !== undefined && !run) throw new Error(`no run ${opts.runId}`);
      if (!run) {
        const id = Math.max(1000, maxId(st.runs)) + 1;
        run = {
          id,
          name: opts.workflow ?? 'train',
          repository: opts.repository ?? defaultRepo(),
          status: 'queued',
          conclusion: null,
          event: 'workflow_dispatch',
          head_branch: 'main',
          head_sha: '0123456789abcdef0123456789abcdef01234567',
          run_number: st.runs.length + 1,
          run_attempt: 1,
          created_at: created,
          updated_at: created,
        };
        st.runs.push(run);
      }
      const job: GithubJob = {
        id: Math.max(5000, maxId(st.jobs)) + 1,
        run_id: run.id,
        name: opts.name ?? 'train',
        status: 'queued',
        conclusion: null,
        labels: [...opts.labels],
        runner_id: null,
        runner_name: null,
        runner_group_id: null,
        runner_group_name: null,
        created_at: created,
        started_at: null,
        completed_at: null,
        workflow_name: run.name,
        head_branch: run.head_branch,
        head_sha: run.head_sha,
      };
      st.jobs.push(job);
      refreshRun(run.id);
      return { run, job };
    },
    startJob(jobId, runnerName) {
      const job = st.jobs.find((j) => j.id === jobId);
      const runner = st.runners.find((r) => r.name === runnerName);
      if (!job || !runner) throw new Error(`no job ${jobId} or runner ${runnerName}`);
      Object.assign(job, { status: 'in_progress', started_at: nowIso(), runner_id: runner.id, runner_name: runner.name, runner_group_id: 1, runner_group_name: 'Default' });
      runner.busy = true;
      refreshRun(job.run_id);
      return job;
    },
    completeJob(jobId, conclusion = 'success') {
      const job = st.jobs.find((j) => j.id === jobId);
      if (!job) throw new Error(`no job ${jobId}`);
      Object.assign(job, { status: 'completed', conclusion, completed_at: nowIso() });
      const runner = st.runners.find((r) => r.id === job.runner_id);
      if (runner) runner.busy = false;
      refreshRun(job.run_id);
      return job;
    },
    addToken(t) {
      const token: GithubToken = { ...t, token: t.token ?? `github_pat_${randomBytes(30).toString('base64url')}` };
      st.tokens.push(token);
      return token;
    },
    setRemaining(token, remaining) {
      const t = st.tokens.find((x) => x.token === token);
      if (!t) throw new Error('unknown token');
      t.remaining = remaining;
    },
    issues(repository = defaultRepo()) {
      return st.issues.filter((i) => i.repository.toLowerCase() === repository.toLowerCase()).sort((a, b) => a.number - b.number);
    },
    comments(issueNumber, repository = defaultRepo()) {
      return st.comments.filter((c) => c.repository.toLowerCase() === repository.toLowerCase() && c.issue_number === issueNumber).sort((a, b) => a.id - b.id);
    },
    reset() {
      const fresh = structuredClone(pristine);
      for (const k of ['repos', 'tokens', 'runners', 'runs', 'jobs', 'issues', 'comments'] as const) {
        (st[k] as unknown[]).splice(0, st[k].length, ...(fresh[k] as unknown[]));
      }
    },
  };
}
