/**
 * The retention rule of image-prune, as a pure function over an image's versions:
 * keep the newest N tagged versions, never a version a protected tag (e.g. latest)
 * points at, never one younger than M days, and never a platform image a kept
 * index refers to. Everything else is deleted, each with its reason.
 */
import { INDEX_TYPES } from './media.js';

export interface VersionInfo {
  name: string;
  digest: string;
  createTime: string;
  tags: string[];
  mediaType?: string;
  sizeBytes?: number;
}

export interface RetentionRule {
  keep: number;
  minAgeDays: number;
  /** Tag patterns (`*` wildcard) whose versions are never deleted. */
  protectTags: string[];
  now: Date;
}

export interface Decision {
  version: VersionInfo;
  action: 'keep' | 'delete';
  reason: string;
  ageDays: number;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$');
}

export function isIndex(v: VersionInfo): boolean {
  return !!v.mediaType && INDEX_TYPES.includes(v.mediaType);
}

const byNewest = (a: VersionInfo, b: VersionInfo): number => (a.createTime < b.createTime ? 1 : a.createTime > b.createTime ? -1 : a.name < b.name ? -1 : 1);

/**
 * Decide for every version. `children(digests)` lists, for kept index digests, the
 * digests they refer to (read from the registry); undefined when references are not
 * checked, and then untagged platform images are kept (they may belong to a kept index).
 */
export async function decide(versions: VersionInfo[], rule: RetentionRule, children?: (indexDigests: string[]) => Promise<Set<string>>): Promise<Decision[]> {
  const patterns = rule.protectTags.map(globToRegExp);
  const age = (v: VersionInfo) => Math.floor((rule.now.getTime() - Date.parse(v.createTime)) / 86_400_000);
  const sorted = [...versions].sort(byNewest);
  const tagged = sorted.filter((v) => v.tags.length > 0);
  const decisions = new Map<string, Decision>();
  const set = (v: VersionInfo, action: Decision['action'], reason: string) => decisions.set(v.name, { version: v, action, reason, ageDays: age(v) });

  for (const v of sorted) {
    if (v.tags.length === 0 && !isIndex(v)) continue; // platform images: after their indexes
    const protectedTag = v.tags.find((t) => patterns.some((p) => p.test(t)));
    const rank = tagged.indexOf(v) + 1;
    if (protectedTag) set(v, 'keep', `tag ${protectedTag} points here (protected)`);
    else if (age(v) < rule.minAgeDays) set(v, 'keep', `${age(v)} days old, younger than ${rule.minAgeDays}`);
    else if (rank > 0 && rank <= rule.keep) set(v, 'keep', `newest tagged #${rank} of ${rule.keep} kept`);
    else if (rank > 0) set(v, 'delete', `tagged #${rank}, beyond the newest ${rule.keep}; ${age(v)} days old`);
    else set(v, 'delete', `untagged index, ${age(v)} days old`);
  }

  const keptIndexes = [...decisions.values()].filter((d) => d.action === 'keep' && isIndex(d.version)).map((d) => d.version.digest);
  const referenced = children ? await children(keptIndexes) : undefined;
  for (const v of sorted) {
    if (decisions.has(v.name)) continue;
    if (age(v) < rule.minAgeDays) set(v, 'keep', `${age(v)} days old, younger than ${rule.minAgeDays}`);
    else if (!referenced) set(v, 'keep', 'untagged platform image; references not checked (check_references: false)');
    else if (referenced.has(v.digest)) set(v, 'keep', 'platform image of a kept index');
    else set(v, 'delete', `untagged, not in any kept index, ${age(v)} days old`);
  }
  return sorted.map((v) => decisions.get(v.name) as Decision);
}
