// The GitHub sandbox's state (the seed's `github` section) and the test-facing service's type.

export type Access = 'read' | 'write';

export interface GithubToken {
  token: string;
  /** The user or app the token acts for (rate-limit messages). */
  login?: string;
  /** Fine-grained permissions, e.g. { administration: 'read', actions: 'read' }. */
  permissions: Record<string, Access>;
  /** Repositories ("owner/name") the token may see; unset = every seeded repository. */
  repositories?: string[];
  /** Organizations whose org-level endpoints the token may use. */
  organizations?: string[];
  /** Rate limit budget (default 5000) and what is left. */
  rateLimit?: number;
  remaining?: number;
}

export interface GithubLabel {
  id: number;
  name: string;
  type: 'read-only' | 'custom';
}

export interface GithubRunner {
  id: number;
  name: string;
  os: string;
  status: 'online' | 'offline';
  busy: boolean;
  ephemeral?: boolean;
  runner_group_id?: number;
  labels: GithubLabel[];
  /** Where the runner is registered: "owner/name" for a repository runner, else `org`. */
  repository?: string;
  org?: string;
}

export interface GithubJob {
  id: number;
  run_id: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'pending' | 'requested';
  conclusion: string | null;
  labels: string[];
  runner_id: number | null;
  runner_name: string | null;
  runner_group_id: number | null;
  runner_group_name: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  workflow_name: string;
  head_branch: string;
  head_sha: string;
}

export interface GithubRun {
  id: number;
  name: string;
  repository: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'pending' | 'requested';
  conclusion: string | null;
  event: string;
  head_branch: string;
  head_sha: string;
  run_number: number;
  run_attempt: number;
  created_at: string;
  updated_at: string;
}

export interface GithubRepo {
  owner: string;
  name: string;
  id: number;
  private?: boolean;
}

export interface GithubIssue {
  number: number;
  /** "owner/name". */
  repository: string;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  state_reason: 'completed' | 'not_planned' | 'reopened' | null;
  labels: string[];
  /** Who opened it (the token's login). */
  user: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface GithubComment {
  id: number;
  repository: string;
  issue_number: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
}

export interface GithubSeed {
  repos: GithubRepo[];
  /** Users and organizations by login (repository owners not listed are organizations on the team plan). */
  owners?: GithubOwner[];
  /** User logins that exist (collaborators may be invited). */
  users?: string[];
  tokens: GithubToken[];
  runners: GithubRunner[];
  runs: GithubRun[];
  jobs: GithubJob[];
  issues: GithubIssue[];
  comments: GithubComment[];
}

export interface QueueJobOptions {
  repository?: string;
  labels: string[];
  name?: string;
  workflow?: string;
  /** Add the job to this run (else a new queued run). */
  runId?: number;
  /** When the job was queued (ISO time or Date); default now. */
  createdAt?: string | Date;
}

export interface GithubRestService {
  state: GithubSeed;
  runner(name: string): GithubRunner | undefined;
  /** Change a runner's status / busy flag (by name). */
  setRunner(name: string, patch: Partial<Pick<GithubRunner, 'status' | 'busy' | 'labels'>>): GithubRunner;
  addRunner(r: { name: string; labels: string[]; os?: string; status?: 'online' | 'offline'; busy?: boolean; repository?: string; org?: string }): GithubRunner;
  /** A queued job (in a new queued run unless runId is given). */
  queueJob(opts: QueueJobOptions): { run: GithubRun; job: GithubJob };
  /** A queued job starts on a runner (the runner becomes busy). */
  startJob(jobId: number, runnerName: string): GithubJob;
  completeJob(jobId: number, conclusion?: string): GithubJob;
  addToken(t: Omit<GithubToken, 'token'> & { token?: string }): GithubToken;
  /** Set what is left of a token's rate-limit budget (0 = the next call gets 403 rate limit exceeded). */
  setRemaining(token: string, remaining: number): void;
  /** The issues of a repository (default: the first seeded one), oldest first. */
  issues(repository?: string): GithubIssue[];
  /** The comments on an issue, oldest first. */
  comments(issueNumber: number, repository?: string): GithubComment[];
  /** Back to the seed as loaded. */
  reset(): void;
}

export function defaultGithubSeed(): GithubSeed {
  return { repos: [], tokens: [], runners: [], runs: [], jobs: [], issues: [], comments: [] };
}

export interface GithubOwner {
  login: string;
  type: 'User' | 'Organization';
  /** free: private repositories get no branch protection (GitHub's plan rule). */
  plan?: 'free' | 'pro' | 'team' | 'enterprise';
  /** Organization teams (slugs). */
  teams?: string[];
}
