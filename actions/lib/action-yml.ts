/**
 * The `default:` values of the running action's action.yml inputs, so an input the runner did not
 * pass (a hand run, `node dist/index.js`) gets the same value the runner would have given it.
 * A default lives only in action.yml; the readers in inputs.ts ask here.
 *
 * action.yml's inputs block is regular (two-space input names, four-space keys), so a small reader
 * does instead of a YAML library in every bundle. It takes plain, single- and double-quoted scalars
 * and `|`/`>` block scalars; a default holding an expression (`${{ github.token }}`) is left to the runner.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: Map<string, string> | undefined;

/** The running bundle is `actions/<name>/dist/index.js` (action.yml one level up); an entry run from source sits next to it. */
function actionYmlPath(): string | undefined {
  const entry = process.argv[1];
  if (!entry) return undefined;
  const dir = dirname(entry);
  return [join(dir, '..', 'action.yml'), join(dir, 'action.yml')].find((p) => existsSync(p));
}

function unquote(text: string): string {
  if (text.startsWith("'") && text.endsWith("'") && text.length >= 2) return text.slice(1, -1).replace(/''/g, "'");
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) return JSON.parse(text) as string;
  return text.replace(/\s+#.*$/, '');
}

/** The inputs' defaults in an action.yml's text. */
export function parseInputDefaults(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  let inInputs = false;
  let input: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\S/.test(line)) {
      inInputs = /^inputs:\s*$/.test(line);
      input = undefined;
      continue;
    }
    if (!inInputs) continue;
    const name = /^ {2}([A-Za-z0-9_-]+):\s*$/.exec(line);
    if (name) {
      input = name[1];
      continue;
    }
    const def = /^ {4}default:\s*(.*)$/.exec(line);
    if (!def || input === undefined) continue;
    const value = (def[1] as string).trim();
    const block = /^([|>])([+-]?)$/.exec(value);
    if (!block) {
      out.set(input, unquote(value));
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && (/^ {5,}/.test(lines[i + 1] as string) || (lines[i + 1] as string).trim() === '')) body.push(lines[++i] as string);
    const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => (/^ */.exec(l) as RegExpExecArray)[0].length));
    for (let j = 0; j < body.length; j++) body[j] = (body[j] as string).slice(indent);
    while (body.length && (body[body.length - 1] as string).trim() === '') body.pop();
    let joined = block[1] === '|' ? body.join('\n') : body.join(' ');
    if (block[2] !== '-') joined += '\n';
    out.set(input, joined);
  }
  return out;
}

/** action.yml's default for `name`; undefined when it has none (or the action.yml is not found). Read once. */
export function actionYmlDefault(name: string): string | undefined {
  if (!cached) {
    const path = actionYmlPath();
    cached = path ? parseInputDefaults(readFileSync(path, 'utf8')) : new Map();
  }
  const value = cached.get(name);
  return value === undefined || value.includes('${{') ? undefined : value;
}
