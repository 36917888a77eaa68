// The sandbox's IAM policy, read from the repository's own Terraform: the roots terraform/bootstrap
// and terraform/envs/dev with the local modules they call (terraform/modules/iam grants the CI and
// node service accounts their roles). Parsed with @cdktf/hcl2json, then the few expressions the
// IAM resources use are evaluated here: var., local., each.value over a for_each set, toset([...]),
// and the attributes of google_service_account (email, name, member), google_storage_bucket (name)
// and google_iam_workload_identity_pool (name). A binding whose member or role does not resolve is
// left out and listed in `unresolved`.
//
// Parsing costs about a second (hcl2json is WebAssembly), so the result is cached in the temp dir
// under a hash of the files' text, and nothing is read before the first request that needs IAM.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

export interface PolicyBinding {
  role: string;
  members: string[];
  /** Where the Terraform grants it (path relative to the checkout, 1-based line). */
  source?: { file: string; line: number };
}

export interface IamPolicy {
  /** Bindings on the project: they apply to every resource in it. */
  project: PolicyBinding[];
  /** Bindings on one resource: `projects/-/serviceAccounts/EMAIL`, `projects/_/buckets/NAME`. */
  resources: Record<string, PolicyBinding[]>;
  /** What the policy was read from. */
  origin: string;
  unresolved?: string[];
}

type Json = Record<string, unknown>;
interface ModuleFiles {
  dir: string;
  files: { path: string; text: string; json: Json }[];
}

const ROOTS = ['terraform/bootstrap', 'terraform/envs/dev'];

function tfFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.tf')).sort().map((f) => join(dir, f));
}

/** Module directories reachable from the roots (local `source = "../x"` only). */
function moduleDirs(checkout: string): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    if (out.includes(dir) || !existsSync(dir)) return;
    out.push(dir);
    for (const f of tfFiles(dir)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/^\s*source\s*=\s*"(\.{1,2}\/[^"]+)"/gm)) visit(resolve(dir, m[1] as string));
    }
  };
  for (const r of ROOTS) visit(join(checkout, r));
  return out;
}

/** The text between `${` and its closing `}` starting at `open` (index of `$`). */
function interpolationEnd(s: string, open: number): number {
  let depth = 0;
  let inStr = false;
  for (let i = open + 1; i < s.length; i++) {
    const ch = s[i];
    if (inStr) {
      if (ch === '\\') i++;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) return i;
  }
  return -1;
}

class Unresolved extends Error {}

interface Scope {
  mod: ModuleFiles;
  vars: Record<string, unknown>;
  each?: { key: string; value: unknown };
  project: { projectId: string; projectNumber: string };
}

function blocks(mod: ModuleFiles, kind: string): { name: string; body: Json; file: string; type?: string }[] {
  const out: { name: string; body: Json; file: string; type?: string }[] = [];
  for (const f of mod.files) {
    const section = f.json[kind] as Json | Json[] | undefined;
    if (!section) continue;
    if (kind === 'locals') {
      for (const l of section as Json[]) for (const [k, v] of Object.entries(l)) out.push({ name: k, body: { value: v }, file: f.path });
    } else if (kind === 'resource') {
      for (const [type, byName] of Object.entries(section as Json)) {
        for (const [name, list] of Object.entries(byName as Json)) for (const b of list as Json[]) out.push({ type, name, body: b, file: f.path });
      }
    } else {
      for (const [name, list] of Object.entries(section as Json)) for (const b of list as Json[]) out.push({ name, body: b, file: f.path });
    }
  }
  return out;
}

function stripComments(s: string): string {
  return s.replace(/"(?:[^"\\]|\\.)*"|#[^\n]*|\/\/[^\n]*/g, (m) => (m.startsWith('"') ? m : ''));
}

function evalExpr(expr: string, scope: Scope): unknown {
  const e = stripComments(expr).trim();
  let m = /^toset\(\s*([\s\S]*)\)$/.exec(e);
  if (m) return evalExpr(m[1] as string, scope);
  if (e.startsWith('[') && e.endsWith(']')) {
    const inner = e.slice(1, -1);
    return [...inner.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => evalString(x[1] as string, scope));
  }
  if (/^"(?:[^"\\]|\\.)*"$/.test(e)) return evalString(e.slice(1, -1), scope);
  m = /^var\.([\w-]+)$/.exec(e);
  if (m) {
    const name = m[1] as string;
    if (!(name in scope.vars)) throw new Unresolved(`var.${name}`);
    return scope.vars[name];
  }
  m = /^local\.([\w-]+)$/.exec(e);
  if (m) {
    const l = blocks(scope.mod, 'locals').find((b) => b.name === m?.[1]);
    if (!l) throw new Unresolved(e);
    return evalValue(l.body.value, scope);
  }
  if (e === 'each.value' && scope.each) return scope.each.value;
  if (e === 'each.key' && scope.each) return scope.each.key;
  m = /^(google_[\w]+)\.([\w-]+)\.([\w]+)$/.exec(e);
  if (m) return resourceAttr(m[1] as string, m[2] as string, m[3] as string, scope);
  throw new Unresolved(e);
}

function evalString(s: string, scope: Scope): unknown {
  const open = s.indexOf('${');
  if (open < 0) return s;
  const end = interpolationEnd(s, open);
  if (end < 0) throw new Unresolved(s);
  const value = evalExpr(s.slice(open + 2, end), scope);
  if (open === 0 && end === s.length - 1) return value;
  if (typeof value !== 'string') throw new Unresolved(s);
  return `${s.slice(0, open)}${value}${String(evalString(s.slice(end + 1), scope))}`;
}

function evalValue(v: unknown, scope: Scope): unknown {
  if (typeof v === 'string') return evalString(v, scope);
  if (Array.isArray(v)) return v.map((x) => evalValue(x, scope));
  return v;
}

function resourceAttr(type: string, name: string, attr: string, scope: Scope): unknown {
  const r = blocks(scope.mod, 'resource').find((b) => b.type === type && b.name === name);
  if (!r) throw new Unresolved(`${type}.${name}`);
  const get = (k: string): string => {
    const v = evalValue(r.body[k], scope);
    if (typeof v !== 'string') throw new Unresolved(`${type}.${name}.${k}`);
    return v;
  };
  const projectOf = (): string => (r.body.project === undefined ? scope.project.projectId : get('project'));
  if (type === 'google_service_account') {
    const email = `${get('account_id')}@${projectOf()}.iam.gserviceaccount.com`;
    if (attr === 'email') return email;
    if (attr === 'name') return `projects/${projectOf()}/serviceAccounts/${email}`;
    if (attr === 'member') return `serviceAccount:${email}`;
  }
  if (type === 'google_iam_workload_identity_pool' && attr === 'name') {
    return `projects/${scope.project.projectNumber}/locations/global/workloadIdentityPools/${get('workload_identity_pool_id')}`;
  }
  if (attr in r.body) return get(attr);
  throw new Unresolved(`${type}.${name}.${attr}`);
}

function lineOf(mod: ModuleFiles, file: string, needle: string): number {
  const f = mod.files.find((x) => x.path === file);
  const lines = (f?.text ?? '').split('\n');
  const i = lines.findIndex((l) => l.includes(needle));
  return i < 0 ? 1 : i + 1;
}

async function parseModule(dir: string, checkout: string): Promise<ModuleFiles> {
  const { parse } = await import('@cdktf/hcl2json');
  const files: ModuleFiles['files'] = [];
  for (const f of tfFiles(dir)) {
    const text = readFileSync(f, 'utf8');
    files.push({ path: relative(checkout, f), text, json: (await parse(f, text)) as Json });
  }
  return { dir, files };
}

function variableDefaults(mod: ModuleFiles): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of blocks(mod, 'variable')) if ('default' in v.body && v.body.default !== null) out[v.name] = v.body.default;
  return out;
}

function collect(mods: Map<string, ModuleFiles>, dir: string, vars: Record<string, unknown>, project: Scope['project'], policy: IamPolicy): void {
  const mod = mods.get(dir);
  if (!mod) return;
  const scope: Scope = { mod, vars, project };
  const add = (where: 'project' | string, role: string, members: string[], file: string, needle: string): void => {
    const binding: PolicyBinding = { role, members, source: { file, line: lineOf(mod, file, needle) } };
    if (where === 'project') policy.project.push(binding);
    else (policy.resources[where] ??= []).push(binding);
  };
  for (const r of blocks(mod, 'resource')) {
    if (!/^google_(project|service_account|storage_bucket)_iam_(member|binding)$/.test(r.type ?? '')) continue;
    const instances: { key: string; value: unknown }[] = [];
    if (r.body.for_each !== undefined) {
      try {
        const set = evalValue(r.body.for_each, scope);
        if (!Array.isArray(set)) throw new Unresolved('for_each');
        for (const v of set) instances.push({ key: String(v), value: v });
      } catch (err) {
        policy.unresolved?.push(`${mod.files[0]?.path ?? dir}: ${r.type}.${r.name} for_each (${(err as Error).message})`);
        continue;
      }
    } else instances.push({ key: '', value: undefined });
    for (const each of instances) {
      const s: Scope = { ...scope, each };
      try {
        const role = String(evalValue(r.body.role, s));
        const members = r.type?.endsWith('_binding') ? (evalValue(r.body.members, s) as string[]).map(String) : [String(evalValue(r.body.member, s))];
        const needle = r.body.for_each !== undefined ? `"${role}"` : `resource "${r.type}" "${r.name}"`;
        const roleLine = r.body.for_each !== undefined ? needle : `"${role}"`;
        if (r.type?.startsWith('google_project_')) add('project', role, members, r.file, roleLine);
        else if (r.type?.startsWith('google_service_account_')) {
          const id = String(evalValue(r.body.service_account_id, s));
          const email = id.split('/').pop() ?? id;
          add(`projects/-/serviceAccounts/${email}`, role, members, r.file, roleLine);
        } else add(`projects/_/buckets/${String(evalValue(r.body.bucket, s))}`, role, members, r.file, roleLine);
      } catch (err) {
        policy.unresolved?.push(`${r.file}: ${r.type}.${r.name}[${each.key}] (${(err as Error).message})`);
      }
    }
  }
  for (const m of blocks(mod, 'module')) {
    const src = typeof m.body.source === 'string' ? m.body.source : '';
    if (!src.startsWith('.')) continue;
    const child = resolve(dir, src);
    const childMod = mods.get(child);
    if (!childMod) continue;
    const childVars = variableDefaults(childMod);
    for (const [k, v] of Object.entries(m.body)) {
      if (['source', 'depends_on', 'providers', 'count', 'for_each', 'version'].includes(k)) continue;
      try {
        childVars[k] = evalValue(v, scope);
      } catch {
        /* an input the IAM bindings may not need; a binding that needs it reports it */
      }
    }
    collect(mods, child, childVars, project, policy);
  }
}

/** The policy the Terraform under `checkout` grants, for a sandbox project. */
export async function terraformPolicy(checkout: string, project: { projectId: string; projectNumber: string }): Promise<IamPolicy> {
  const dirs = moduleDirs(checkout);
  const hash = createHash('sha256').update(JSON.stringify(project)).update('v1');
  for (const d of dirs) for (const f of tfFiles(d)) hash.update(relative(checkout, f)).update(readFileSync(f));
  const cacheDir = join(tmpdir(), 'mlabs-sandbox-iam');
  const cacheFile = join(cacheDir, `${hash.digest('hex').slice(0, 32)}.json`);
  if (existsSync(cacheFile)) {
    try {
      return { ...(JSON.parse(readFileSync(cacheFile, 'utf8')) as IamPolicy), origin: `${join(checkout, 'terraform')} (cached)` };
    } catch {
      /* rebuild */
    }
  }
  const mods = new Map<string, ModuleFiles>();
  for (const d of dirs) mods.set(d, await parseModule(d, checkout));
  const policy: IamPolicy = { project: [], resources: {}, origin: join(checkout, 'terraform'), unresolved: [] };
  for (const r of ROOTS) {
    const dir = join(checkout, r);
    const mod = mods.get(dir);
    if (!mod) continue;
    collect(mods, dir, { ...variableDefaults(mod), project_id: project.projectId }, project, policy);
  }
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(policy));
  return policy;
}
