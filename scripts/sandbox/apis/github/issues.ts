// Issues (list by state and labels, get, create, update and close) and their comments.
import type { GithubComment, GithubIssue } from './model.js';
import { gh, nowIso, type GithubParts } from './parts.js';
import type { SandboxReply, SandboxRequest } from '../../router.js';

export function issueRoutes(p: GithubParts): void {
  const { st, base, maxId, guard, paginate, repoOf, add } = p;
  const issuesDocs = 'https://docs.github.com/rest/issues/issues';
  const commentsDocs = 'https://docs.github.com/rest/issues/comments';
  const labelJson = (name: string) => {
    const id = 1 + [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1_000_000_007, 7);
    return { id, node_id: `LA_${id}`, url: '', name, color: 'ededed', default: false, description: null };
  };
  const userJson = (login: string) => ({ login, id: 1, type: login.endsWith('[bot]') ? 'Bot' : 'User', site_admin: false });
  const issueJson = (i: GithubIssue) => {
    const url = `${base}/repos/${i.repository}/issues/${i.number}`;
    return {
      id: 3_000_000 + i.number,
      node_id: `I_${i.number}`,
      url,
      repository_url: `${base}/repos/${i.repository}`,
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      html_url: `https://github.com/${i.repository}/issues/${i.number}`,
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      state_reason: i.state_reason,
      locked: false,
      labels: i.labels.map(labelJson),
      user: userJson(i.user),
      assignee: null,
      assignees: [],
      milestone: null,
      comments: st.comments.filter((c) => c.repository === i.repository && c.issue_number === i.number).length,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.closed_at,
      author_association: 'NONE',
    };
  };
  const commentJson = (c: GithubComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${base}/repos/${c.repository}/issues/comments/${c.id}`,
    html_url: `https://github.com/${c.repository}/issues/${c.issue_number}#issuecomment-${c.id}`,
    issue_url: `${base}/repos/${c.repository}/issues/${c.issue_number}`,
    body: c.body,
    user: userJson(c.user),
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: 'NONE',
  });
  /** The JSON object a write sends, or the 400 GitHub answers for anything else. */
  const jsonBody = (req: SandboxRequest, docs: string): { body: Record<string, unknown> } | { reply: SandboxReply } => {
    try {
      const v = JSON.parse(req.body.toString('utf8') || '{}') as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return { body: v as Record<string, unknown> };
    } catch {
      // answered below
    }
    return { reply: gh(400, 'Problems parsing JSON', docs) };
  };
  const invalid = (field: string, why: string, docs: string): SandboxReply => gh(422, `Invalid request.\n\nFor 'properties/${field}', ${why}.`, docs);
  /** Labels as GitHub takes them: names, or objects with a name. */
  const labelNames = (v: unknown): string[] | undefined => {
    if (!Array.isArray(v)) return undefined;
    const names = v.map((l: unknown) => (typeof l === 'string' ? l : l && typeof l === 'object' && typeof (l as { name?: unknown }).name === 'string' ? (l as { name: string }).name : undefined));
    return names.every((n): n is string => typeof n === 'string' && n.trim() !== '') ? [...new Set(names.map((n) => n.trim()))] : undefined;
  };
  const findIssue = (req: SandboxRequest): GithubIssue | undefined => {
    const full = repoOf(req).toLowerCase();
    return st.issues.find((i) => i.repository.toLowerCase() === full && String(i.number) === req.params.issue_number);
  };

  add(
    'GET',
    '/github/repos/{owner}/{repo}/issues',
    'issues.listForRepo',
    guard('issues.listForRepo', ['issues', 'read'], 'repo', `${issuesDocs}#list-repository-issues`, (req) => {
      const full = repoOf(req).toLowerCase();
      const state = req.query.get('state') ?? 'open';
      if (!['open', 'closed', 'all'].includes(state)) return gh(422, 'Validation Failed', `${issuesDocs}#list-repository-issues`);
      const wanted = (req.query.get('labels') ?? '')
        .split(',')
        .map((l) => l.trim().toLowerCase())
        .filter(Boolean);
      const direction = req.query.get('direction') ?? 'desc';
      const issues = st.issues
        .filter((i) => i.repository.toLowerCase() === full && (state === 'all' || i.state === state))
        .filter((i) => wanted.every((w) => i.labels.some((l) => l.toLowerCase() === w)))
        .sort((a, b) => (direction === 'asc' ? a.number - b.number : b.number - a.number));
      const { page, headers } = paginate(req, issues);
      return { headers, json: page.map(issueJson) };
    }),
  );
  add(
    'POST',
    '/github/repos/{owner}/{repo}/issues',
    'issues.create',
    guard('issues.create', ['issues', 'write'], 'repo', `${issuesDocs}#create-an-issue`, (req, token) => {
      const docs = `${issuesDocs}#create-an-issue`;
      const parsed = jsonBody(req, docs);
      if ('reply' in parsed) return parsed.reply;
      const b = parsed.body;
      if (b.title === undefined) return gh(422, 'Invalid request.\n\n"title" wasn\'t supplied.', docs);
      if (typeof b.title !== 'string' || b.title.trim() === '') return invalid('title', 'is not a non-empty string', docs);
      if (b.body !== undefined && b.body !== null && typeof b.body !== 'string') return invalid('body', 'is not a string', docs);
      const labels = b.labels === undefined ? [] : labelNames(b.labels);
      if (!labels) return invalid('labels', 'expected an array of label names', docs);
      const now = nowIso();
      const repository = repoOf(req);
      const issue: GithubIssue = {
        number: 1 + st.issues.filter((i) => i.repository.toLowerCase() === repository.toLowerCase()).reduce((m, i) => Math.max(m, i.number), 0),
        repository,
        title: b.title,
        body: typeof b.body === 'string' ? b.body : null,
        state: 'open',
        state_reason: null,
        labels,
        user: token.login ?? 'github-actions[bot]',
        created_at: now,
        updated_at: now,
        closed_at: null,
      };
      st.issues.push(issue);
      return { status: 201, headers: { location: `${base}/repos/${repository}/issues/${issue.number}` }, json: issueJson(issue) };
    }),
  );
  add(
    'GET',
    '/github/repos/{owner}/{repo}/issues/{issue_number}',
    'issues.get',
    guard('issues.get', ['issues', 'read'], 'repo', `${issuesDocs}#get-an-issue`, (req) => {
      const issue = findIssue(req);
      return issue ? { json: issueJson(issue) } : gh(404, 'Not Found', `${issuesDocs}#get-an-issue`);
    }),
  );
  add(
    'PATCH',
    '/github/repos/{owner}/{repo}/issues/{issue_number}',
    'issues.update',
    guard('issues.update', ['issues', 'write'], 'repo', `${issuesDocs}#update-an-issue`, (req) => {
      const docs = `${issuesDocs}#update-an-issue`;
      const issue = findIssue(req);
      if (!issue) return gh(404, 'Not Found', docs);
      const parsed = jsonBody(req, docs);
      if ('reply' in parsed) return parsed.reply;
      const b = parsed.body;
      if (b.title !== undefined && (typeof b.title !== 'string' || b.title.trim() === '')) return invalid('title', 'is not a non-empty string', docs);
      if (b.body !== undefined && b.body !== null && typeof b.body !== 'string') return invalid('body', 'is not a string', docs);
      if (b.state !== undefined && b.state !== 'open' && b.state !== 'closed') return invalid('state', `${JSON.stringify(b.state)} is not one of ["open","closed"]`, docs);
      const reasons = ['completed', 'not_planned', 'reopened'];
      if (b.state_reason !== undefined && b.state_reason !== null && !reasons.includes(b.state_reason as string)) {
        return invalid('state_reason', `${JSON.stringify(b.state_reason)} is not one of ["completed","not_planned","reopened",null]`, docs);
      }
      const labels = b.labels === undefined ? issue.labels : labelNames(b.labels);
      if (!labels) return invalid('labels', 'expected an array of label names', docs);
      const now = nowIso();
      if (typeof b.title === 'string') issue.title = b.title;
      if (b.body !== undefined) issue.body = typeof b.body === 'string' ? b.body : null;
      issue.labels = labels;
      if (b.state === 'closed' && issue.state === 'open') {
        Object.assign(issue, { state: 'closed', closed_at: now, state_reason: (b.state_reason as GithubIssue['state_reason']) ?? 'completed' });
      } else if (b.state === 'open' && issue.state === 'closed') {
        Object.assign(issue, { state: 'open', closed_at: null, state_reason: 'reopened' });
      }
      issue.updated_at = now;
      return { json: issueJson(issue) };
    }),
  );
  add(
    'GET',
    '/github/repos/{owner}/{repo}/issues/{issue_number}/comments',
    'issues.listComments',
    guard('issues.listComments', ['issues', 'read'], 'repo', `${commentsDocs}#list-issue-comments`, (req) => {
      const issue = findIssue(req);
      if (!issue) return gh(404, 'Not Found', `${commentsDocs}#list-issue-comments`);
      const comments = st.comments.filter((c) => c.repository === issue.repository && c.issue_number === issue.number).sort((a, b) => a.id - b.id);
      const { page, headers } = paginate(req, comments);
      return { headers, json: page.map(commentJson) };
    }),
  );
  add(
    'POST',
    '/github/repos/{owner}/{repo}/issues/{issue_number}/comments',
    'issues.createComment',
    guard('issues.createComment', ['issues', 'write'], 'repo', `${commentsDocs}#create-an-issue-comment`, (req, token) => {
      const docs = `${commentsDocs}#create-an-issue-comment`;
      const issue = findIssue(req);
      if (!issue) return gh(404, 'Not Found', docs);
      const parsed = jsonBody(req, docs);
      if ('reply' in parsed) return parsed.reply;
      const text = parsed.body.body;
      if (text === undefined) return gh(422, 'Invalid request.\n\n"body" wasn\'t supplied.', docs);
      if (typeof text !== 'string' || text === '') return invalid('body', 'is not a non-empty string', docs);
      const now = nowIso();
      const id = Math.max(4_000_000, maxId(st.comments)) + 1;
      const comment: GithubComment = { id, repository: issue.repository, issue_number: issue.number, body: text, user: token.login ?? 'github-actions[bot]', created_at: now, updated_at: now };
      st.comments.push(comment);
      issue.updated_at = now;
      const json = commentJson(comment);
      return { status: 201, headers: { location: json.url }, json };
    }),
  );
}
