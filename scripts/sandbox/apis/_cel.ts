// A small evaluator for the CEL subset Workload Identity Federation uses in attribute
// mappings and conditions: literals ('x', "x", 1, true, [..]), member access
// (assertion.repository, attribute.env, google.subject, assertion['x']), ==, !=, <, >, <=, >=,
// &&, ||, !, in [...], +, ?: and the methods startsWith, endsWith, contains, matches, size.
// A missing field evaluates to an error value, as in CEL: a condition that touches it is false.

type Value = string | number | boolean | null | Value[] | { [k: string]: Value } | undefined;

interface Tok {
  kind: 'str' | 'num' | 'id' | 'op' | 'end';
  text: string;
  value?: string | number;
}

export class CelError extends Error {}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          j++;
          const e = src[j] as string;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        } else s += src[j];
        j++;
      }
      if (j >= src.length) throw new CelError(`unterminated string at ${i}`);
      out.push({ kind: 'str', text: src.slice(i, j + 1), value: s });
      i = j + 1;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ kind: 'num', text: num[0], value: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ kind: 'id', text: id[0] });
      i += id[0].length;
      continue;
    }
    const op = /^(==|!=|<=|>=|&&|\|\||[<>!+\-.()[\],?:{}])/.exec(src.slice(i));
    if (op) {
      out.push({ kind: 'op', text: op[0] });
      i += op[0].length;
      continue;
    }
    throw new CelError(`unexpected character ${JSON.stringify(c)} at ${i}`);
  }
  out.push({ kind: 'end', text: '' });
  return out;
}

const MISSING = Symbol('missing');
type V = Value | typeof MISSING;

class Parser {
  private pos = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly vars: Record<string, Value>,
  ) {}

  private peek(): Tok {
    return this.toks[this.pos] as Tok;
  }
  private next(): Tok {
    return this.toks[this.pos++] as Tok;
  }
  private accept(text: string): boolean {
    const t = this.peek();
    if (t.kind === 'op' || t.kind === 'id') {
      if (t.text === text) {
        this.pos++;
        return true;
      }
    }
    return false;
  }
  private expect(text: string): void {
    if (!this.accept(text)) throw new CelError(`expected ${text} but found ${this.peek().text || 'end'}`);
  }

  parseAll(): V {
    const v = this.ternary();
    if (this.peek().kind !== 'end') throw new CelError(`unexpected ${this.peek().text}`);
    return v;
  }

  private ternary(): V {
    const cond = this.or();
    if (this.accept('?')) {
      const a = this.ternary();
      this.expect(':');
      const b = this.ternary();
      return cond === true ? a : b;
    }
    return cond;
  }

  private or(): V {
    let left = this.and();
    while (this.accept('||')) {
      const right = this.and();
      left = left === true || right === true;
    }
    return left;
  }

  private and(): V {
    let left = this.rel();
    while (this.accept('&&')) {
      const right = this.rel();
      left = left === true && right === true;
    }
    return left;
  }

  private rel(): V {
    const left = this.add();
    const t = this.peek();
    if (t.kind === 'op' && ['==', '!=', '<', '>', '<=', '>='].includes(t.text)) {
      this.next();
      const right = this.add();
      if (left === MISSING || right === MISSING) return MISSING;
      switch (t.text) {
        case '==':
          return JSON.stringify(left) === JSON.stringify(right);
        case '!=':
          return JSON.stringify(left) !== JSON.stringify(right);
        case '<':
          return (left as number) < (right as number);
        case '>':
          return (left as number) > (right as number);
        case '<=':
          return (left as number) <= (right as number);
        default:
          return (left as number) >= (right as number);
      }
    }
    if (t.kind === 'id' && t.text === 'in') {
      this.next();
      const right = this.add();
      if (left === MISSING || right === MISSING) return MISSING;
      if (Array.isArray(right)) return right.some((x) => JSON.stringify(x) === JSON.stringify(left));
      if (right && typeof right === 'object') return typeof left === 'string' && left in right;
      throw new CelError('"in" needs a list or a map');
    }
    return left;
  }

  private add(): V {
    let left = this.unary();
    while (this.peek().kind === 'op' && (this.peek().text === '+' || this.peek().text === '-')) {
      const op = this.next().text;
      const right = this.unary();
      if (left === MISSING || right === MISSING) {
        left = MISSING;
        continue;
      }
      if (op === '+') {
        if (Array.isArray(left) && Array.isArray(right)) left = [...left, ...right];
        else if (typeof left === 'string' && typeof right === 'string') left = left + right;
        else if (typeof left === 'number' && typeof right === 'number') left = left + right;
        else throw new CelError('no matching overload for +');
      } else left = (left as number) - (right as number);
    }
    return left;
  }

  private unary(): V {
    if (this.accept('!')) {
      const v = this.unary();
      return v === MISSING ? MISSING : v !== true;
    }
    if (this.accept('-')) return -(this.unary() as number);
    return this.postfix();
  }

  private postfix(): V {
    let v = this.primary();
    for (;;) {
      if (this.accept('.')) {
        const name = this.next();
        if (name.kind !== 'id') throw new CelError('expected a field name after "."');
        if (this.accept('(')) {
          const args = this.args(')');
          v = this.call(v, name.text, args);
        } else v = this.member(v, name.text);
      } else if (this.accept('[')) {
        const key = this.ternary();
        this.expect(']');
        v = key === MISSING ? MISSING : this.member(v, key as string | number);
      } else return v;
    }
  }

  private member(v: V, key: string | number): V {
    if (v === MISSING || v === null || v === undefined || typeof v !== 'object') return MISSING;
    const got = (v as Record<string, Value>)[key as string];
    return got === undefined ? MISSING : got;
  }

  private args(close: string): V[] {
    const out: V[] = [];
    if (this.accept(close)) return out;
    do out.push(this.ternary());
    while (this.accept(','));
    this.expect(close);
    return out;
  }

  private call(target: V, name: string, args: V[]): V {
    if (target === MISSING || args.includes(MISSING)) return MISSING;
    const a = args[0];
    switch (name) {
      case 'startsWith':
        return typeof target === 'string' && typeof a === 'string' && target.startsWith(a);
      case 'endsWith':
        return typeof target === 'string' && typeof a === 'string' && target.endsWith(a);
      case 'contains':
        return typeof target === 'string' && typeof a === 'string' && target.includes(a);
      case 'matches':
        return typeof target === 'string' && typeof a === 'string' && new RegExp(a).test(target);
      case 'size':
        return typeof target === 'string' || Array.isArray(target) ? target.length : MISSING;
      case 'lowerAscii':
        return typeof target === 'string' ? target.toLowerCase() : MISSING;
      case 'upperAscii':
        return typeof target === 'string' ? target.toUpperCase() : MISSING;
      default:
        throw new CelError(`unknown function ${name}`);
    }
  }

  private primary(): V {
    const t = this.next();
    if (t.kind === 'str' || t.kind === 'num') return t.value as string | number;
    if (t.kind === 'id') {
      if (t.text === 'true') return true;
      if (t.text === 'false') return false;
      if (t.text === 'null') return null;
      if (t.text === 'size' && this.accept('(')) {
        const [x] = this.args(')');
        return this.call(x as V, 'size', []);
      }
      if (!(t.text in this.vars)) throw new CelError(`undeclared reference to '${t.text}'`);
      return this.vars[t.text];
    }
    if (t.text === '(') {
      const v = this.ternary();
      this.expect(')');
      return v;
    }
    if (t.text === '[') return this.args(']') as Value[];
    throw new CelError(`unexpected ${t.text || 'end of expression'}`);
  }
}

/** Evaluate `expr` over `vars` (e.g. { assertion, attribute, google }). Missing fields give undefined. */
export function evaluate(expr: string, vars: Record<string, Value>): Value {
  const v = new Parser(tokenize(expr), vars).parseAll();
  return v === MISSING ? undefined : v;
}

/** A condition holds only when it evaluates to exactly true. */
export function holds(expr: string, vars: Record<string, Value>): boolean {
  return evaluate(expr, vars) === true;
}

/** Parse only (for seed validation). */
export function check(expr: string): void {
  tokenize(expr);
}
