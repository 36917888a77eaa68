/**
 * Reading `terraform show -json PLANFILE` (the JSON plan representation, format_version 1.x):
 * what each resource change does, how many of each kind, and whether anything destructive or
 * protected is in it.
 */
import { ActionError, describeError } from '../errors.js';

export type ChangeAction = 'create' | 'update' | 'delete' | 'replace' | 'read' | 'forget' | 'no-op';

/** The parts of a `resource_changes[]` entry this module reads. */
export interface ResourceChange {
  address: string;
  type: string;
  mode?: string;
  name?: string;
  module_address?: string;
  action_reason?: string;
  change: {
    actions: string[];
    before?: unknown;
    after?: unknown;
    replace_paths?: unknown[];
  };
}

export interface PlanJson {
  format_version: string;
  terraform_version?: string;
  errored?: boolean;
  resource_changes?: ResourceChange[];
}

export interface Row {
  address: string;
  type: string;
  action: ChangeAction;
  /** Why Terraform replaces or deletes it, when the plan says. */
  reason?: string;
  /** The protect pattern this resource matched, when it is deleted or replaced. */
  protectedBy?: string;
}

export interface PlanSummary {
  rows: Row[];
  counts: { creates: number; updates: number; deletes: number; replaces: number; reads: number; noops: number; forgets: number };
  hasDestructive: boolean;
  /** Resources matched by a protect pattern that the plan would delete or replace. */
  protectedHits: Row[];
  terraformVersion?: string;
}

/** Parse and check the JSON text of `terraform show -json`; throws ActionError when it is not a plan. */
export function parsePlan(text: string, source = 'the plan file'): PlanJson {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ActionError(`${source} is not JSON: ${describeError(err)}`, {
      fix: 'Pass the output of `terraform show -json PLANFILE` (not the binary plan file, and not the human-readable plan).',
    });
  }
  const plan = data as Partial<PlanJson> & { planned_values?: unknown; values?: unknown };
  if (!plan || typeof plan !== 'object' || typeof plan.format_version !== 'string') {
    throw new ActionError(`${source} has no format_version: it is not Terraform's JSON output.`, {
      fix: 'Pass the output of `terraform show -json PLANFILE`.',
    });
  }
  if (!/^1\./.test(plan.format_version)) {
    throw new ActionError(`${source} has format_version ${plan.format_version}; this action reads 1.x.`);
  }
  if (plan.resource_changes === undefined && plan.planned_values === undefined) {
    throw new ActionError(`${source} is Terraform JSON but not a plan (no resource_changes or planned_values): was it \`terraform show -json\` of a state?`, {
      fix: 'Run `terraform plan -out=tfplan` and pass `terraform show -json tfplan`.',
    });
  }
  if (plan.resource_changes !== undefined && !Array.isArray(plan.resource_changes)) {
    throw new ActionError(`${source}: resource_changes is not a list.`);
  }
  for (const [i, rc] of (plan.resource_changes ?? []).entries()) {
    if (!rc || typeof rc.address !== 'string' || !Array.isArray(rc.change?.actions)) {
      throw new ActionError(`${source}: resource_changes[${i}] has no address or change.actions.`);
    }
  }
  return plan as PlanJson;
}

/** Terraform's action list for one resource, as one word. */
export function classify(actions: readonly string[]): ChangeAction {
  const key = actions.join(',');
  switch (key) {
    case 'create':
      return 'create';
    case 'update':
      return 'update';
    case 'delete':
      return 'delete';
    case 'delete,create':
    case 'create,delete':
      return 'replace';
    case 'read':
      return 'read';
    case 'forget':
      return 'forget';
    case 'no-op':
    case '':
      return 'no-op';
    default:
      throw new ActionError(`Unknown Terraform change actions [${key}]: this action knows create, update, delete, replace, read, forget and no-op.`);
  }
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function nameOf(value: unknown): string | undefined {
  if (value && typeof value === 'object' && 'name' in value) {
    const n = (value as { name?: unknown }).name;
    if (typeof n === 'string') return n;
  }
  return undefined;
}

/**
 * The first protect pattern a resource matches: a pattern (with `*` wildcards) matches the
 * resource's address (with or without its index), its type, or its `name` attribute before the change
 * (e.g. a bucket's name).
 */
export function matchProtect(rc: ResourceChange, patterns: readonly string[]): string | undefined {
  const candidates = [rc.address, rc.address.replace(/\[[^\]]*\]$/, ''), rc.type, nameOf(rc.change.before), nameOf(rc.change.after)].filter(
    (c): c is string => typeof c === 'string' && c !== '',
  );
  return patterns.find((p) => {
    const re = globToRegExp(p);
    return candidates.some((c) => re.test(c));
  });
}

const ORDER: Record<ChangeAction, number> = { delete: 0, replace: 1, update: 2, create: 3, forget: 4, read: 5, 'no-op': 6 };

export function summarizePlan(plan: PlanJson, protect: readonly string[] = []): PlanSummary {
  const rows: Row[] = [];
  const counts = { creates: 0, updates: 0, deletes: 0, replaces: 0, reads: 0, noops: 0, forgets: 0 };
  for (const rc of plan.resource_changes ?? []) {
    const action = classify(rc.change.actions);
    const row: Row = { address: rc.address, type: rc.type, action };
    if (rc.action_reason) row.reason = rc.action_reason;
    if (action === 'replace' && Array.isArray(rc.change.replace_paths) && rc.change.replace_paths.length) {
      const paths = rc.change.replace_paths.map((p) => (Array.isArray(p) ? p.join('.') : String(p)));
      row.reason = `${row.reason ? row.reason + ': ' : ''}${paths.join(', ')}`;
    }
    if (action === 'delete' || action === 'replace') {
      const hit = matchProtect(rc, protect);
      if (hit !== undefined) row.protectedBy = hit;
    }
    rows.push(row);
    if (action === 'create') counts.creates++;
    else if (action === 'update') counts.updates++;
    else if (action === 'delete') counts.deletes++;
    else if (action === 'replace') counts.replaces++;
    else if (action === 'read') counts.reads++;
    else if (action === 'forget') counts.forgets++;
    else counts.noops++;
  }
  rows.sort((a, b) => ORDER[a.action] - ORDER[b.action] || a.address.localeCompare(b.address));
  return {
    rows,
    counts,
    hasDestructive: counts.deletes + counts.replaces > 0,
    protectedHits: rows.filter((r) => r.protectedBy !== undefined),
    terraformVersion: plan.terraform_version,
  };
}

/** A one-line description such as "2 to create, 1 to replace, 0 to update, 0 to delete". */
export function describeCounts(s: PlanSummary): string {
  const c = s.counts;
  return `${c.creates} to create, ${c.updates} to update, ${c.replaces} to replace, ${c.deletes} to delete`;
}
