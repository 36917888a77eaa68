// The local runner's stand-in for actions/github-script, run as a step program through the runner
// protocol (inputs in INPUT_*, outputs to GITHUB_OUTPUT). It runs the step's `script` as an async
// function of (github, context, core, require, process) the way github-script does, with `github` a
// small Octokit-like client of GITHUB_API_URL (the sandbox) holding only the REST methods the suite's
// workflows call, authenticated with the step's `github-token` (default: the job's GITHUB_TOKEN).
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const input = (name) => process.env[`INPUT_${name.toUpperCase()}`] ?? '';

const core = {
  info: (message) => process.stdout.write(`${message}\n`),
  debug: (message) => process.stdout.write(`::debug::${message}\n`),
  warning: (message) => process.stdout.write(`::warning::${message}\n`),
  error: (message) => process.stdout.write(`::error::${message}\n`),
  setOutput(name, value) {
    const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
    const file = process.env.GITHUB_OUTPUT;
    if (!file) throw new Error('GITHUB_OUTPUT is not set');
    const delimiter = `ghadelimiter_${randomUUID()}`;
    appendFileSync(file, `${name}<<${delimiter}\n${text}\n${delimiter}\n`);
  },
  setFailed(message) {
    process.exitCode = 1;
    core.error(message instanceof Error ? message.message : String(message));
  },
};

// --- context (what @actions/github's Context reads from the runner's environment) ----------------------
const [owner = '', repo = ''] = (process.env.GITHUB_REPOSITORY ?? '').split('/');
const eventPath = process.env.GITHUB_EVENT_PATH;
const payload = eventPath && existsSync(eventPath) ? JSON.parse(readFileSync(eventPath, 'utf8')) : {};
const context = {
  payload,
  eventName: process.env.GITHUB_EVENT_NAME ?? '',
  sha: process.env.GITHUB_SHA ?? '',
  ref: process.env.GITHUB_REF ?? 'refs/heads/main',
  workflow: process.env.GITHUB_WORKFLOW ?? '',
  action: process.env.GITHUB_ACTION ?? '',
  actor: process.env.GITHUB_ACTOR ?? '',
  job: process.env.GITHUB_JOB ?? '',
  runNumber: Number(process.env.GITHUB_RUN_NUMBER ?? 0),
  runId: Number(process.env.GITHUB_RUN_ID ?? 0),
  runAttempt: Number(process.env.GITHUB_RUN_ATTEMPT ?? 1),
  apiUrl: process.env.GITHUB_API_URL ?? 'https://api.github.com',
  serverUrl: process.env.GITHUB_SERVER_URL ?? 'https://github.com',
  graphqlUrl: process.env.GITHUB_GRAPHQL_URL ?? 'https://api.github.com/graphql',
  repo: { owner, repo },
  get issue() {
    return { owner, repo, number: (payload.issue ?? payload.pull_request ?? payload).number };
  },
};

// --- github: the REST methods the suite's workflows call, as Octokit names and shapes them -------------
class RequestError extends Error {
  constructor(message, status, response) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.response = response;
  }
}

const token = input('github-token');
async function request(method, template, params) {
  const rest = { ...params };
  const path = template.replace(/\{(\w+)\}/g, (_, k) => {
    const v = rest[k];
    delete rest[k];
    if (v === undefined || v === '') throw new Error(`${method} ${template}: parameter ${k} is required`);
    return encodeURIComponent(String(v));
  });
  const url = new URL(`${context.apiUrl}${path}`);
  let body;
  if (method === 'GET') {
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) url.searchParams.set(k, Array.isArray(v) ? v.join(',') : String(v));
  } else {
    body = JSON.stringify(rest);
  }
  const res = await fetch(url, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'actions/github-script (mlabs local runner)',
      ...(token ? { authorization: `token ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    },
    body,
  });
  const text = await res.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : '';
  } catch {
    // not JSON: keep the text
  }
  const headers = Object.fromEntries(res.headers.entries());
  const response = { status: res.status, url: url.toString(), headers, data };
  if (res.status >= 400) {
    const message = data && typeof data === 'object' && data.message ? `${data.message}${data.documentation_url ? ` - ${data.documentation_url}` : ''}` : `HTTP ${res.status}`;
    throw new RequestError(message, res.status, response);
  }
  return response;
}

const endpoint = (method, template) => {
  const fn = (params = {}) => request(method, template, params);
  fn.endpoint = { method, template };
  return fn;
};

/** Only what the suite's workflows call; anything else fails naming what the stand-in has. */
const only = (prefix, methods) =>
  new Proxy(methods, {
    get(target, prop) {
      if (typeof prop !== 'string' || prop in target || prop === 'then') return target[prop];
      throw new Error(`${prefix}.${prop} is not in the local runner's github-script stand-in (it has ${Object.keys(target).map((k) => `${prefix}.${k}`).join(', ')}); add it to scripts/workflow/github-script.mjs and the sandbox`);
    },
  });

const rest = only('github.rest', {
  issues: only('github.rest.issues', {
    listForRepo: endpoint('GET', '/repos/{owner}/{repo}/issues'),
    create: endpoint('POST', '/repos/{owner}/{repo}/issues'),
    update: endpoint('PATCH', '/repos/{owner}/{repo}/issues/{issue_number}'),
  }),
});

/** Octokit's paginate: every page of a list method, following the Link header's rel="next". */
async function paginate(method, params = {}) {
  if (typeof method !== 'function' || !method.endpoint) throw new Error('github.paginate takes a github.rest method');
  const out = [];
  let page = Number(params.page ?? 1);
  for (;;) {
    const res = await method({ ...params, page });
    const data = res.data;
    out.push(...(Array.isArray(data) ? data : (Object.values(data).find(Array.isArray) ?? [])));
    if (!/rel="next"/.test(res.headers.link ?? '')) return out;
    page += 1;
  }
}

const github = { rest, paginate, request: (route, params) => request(...route.split(' '), params) };

// --- run the script as github-script does --------------------------------------------------------------
const script = input('script');
const encoding = input('result-encoding') || 'json';
try {
  if (!script.trim()) throw new Error('Input required and not supplied: script');
  if (!['json', 'string'].includes(encoding)) throw new Error(`"${encoding}" is not a valid result encoding; accepted: json, string`);
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const fn = new AsyncFunction('require', 'github', 'context', 'core', 'process', 'octokit', script);
  const result = await fn(createRequire(import.meta.url), github, context, core, process, github);
  core.setOutput('result', encoding === 'string' ? (result === undefined ? '' : String(result)) : result === undefined ? '' : JSON.stringify(result));
} catch (err) {
  core.setFailed(`Unhandled error: ${err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err)}`);
}
