// Predefined roles and their permissions (roles.json: source and date inside), loaded on first use
// so that starting the sandbox does not pay for it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface RolesFile {
  source: string;
  commit: string;
  date: string;
  roles: Record<string, { title: string; stage: string; permissions: string[] }>;
}

const here = dirname(fileURLToPath(import.meta.url));
let loaded: { file: RolesFile; sets: Map<string, Set<string>> } | undefined;

function load(): { file: RolesFile; sets: Map<string, Set<string>> } {
  if (!loaded) {
    const file = JSON.parse(readFileSync(join(here, 'roles.json'), 'utf8')) as RolesFile;
    loaded = { file, sets: new Map(Object.entries(file.roles).map(([k, v]) => [k, new Set(v.permissions)])) };
  }
  return loaded;
}

/** roles/owner holds every permission; other basic roles are not modelled. */
export const OWNER = 'roles/owner';

export function knownRole(role: string): boolean {
  return role === OWNER || load().sets.has(role);
}

export function roleGrants(role: string, permission: string): boolean {
  if (role === OWNER) return true;
  return load().sets.get(role)?.has(permission) ?? false;
}

/** The predefined roles (of the file) that grant `permission`, fewest permissions first. */
export function rolesGranting(permission: string): string[] {
  const { sets } = load();
  return [...sets.entries()].filter(([, s]) => s.has(permission)).sort((a, b) => a[1].size - b[1].size).map(([r]) => r);
}

/** Every permission of the file's roles under `prefix` (e.g. `container.`). */
export function permissionsWithPrefix(prefix: string): string[] {
  const all = new Set<string>();
  for (const s of load().sets.values()) for (const p of s) if (p.startsWith(prefix)) all.add(p);
  return [...all].sort();
}

export function rolesSource(): { source: string; commit: string; date: string } {
  const { file } = load();
  return { source: file.source, commit: file.commit, date: file.date };
}
