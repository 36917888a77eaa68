/**
 * `${{ }}` evaluation with GitHub's own expression engine (@actions/expressions): its Lexer, Parser
 * and Evaluator over the run's contexts, plus the status functions the runner decides
 * (success, failure, always, cancelled).
 *
 * On top of GitHub's semantics one check GitHub leaves to the user: a reference to `needs.<job>`
 * outside the job's `needs`, to an output a job does not declare, to a step id the job lacks or to
 * an output a finished step did not write is an error naming the expression, not an empty string.
 */
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { TokenType, type Token } from '@actions/expressions/lexer';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { isBasicExpression, isBoolean, isMapping, isNumber, isSequence, isString } from '@actions/workflow-parser';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const CONTEXT_NAMES = ['github', 'inputs', 'vars', 'secrets', 'env', 'needs', 'steps', 'matrix', 'strategy', 'job', 'jobs', 'runner'];

export interface Status {
  /** success(): no failure so far (job level: every need succeeded). */
  success: boolean;
  failure: boolean;
  cancelled: boolean;
}

/** What the strict reference check knows about the place an expression is evaluated. */
export interface Scope {
  /** needs: job id -> its declared output names. */
  needs?: Record<string, string[]>;
  /** steps of the job: id -> outputs written (undefined while the step has not finished successfully). */
  steps?: Record<string, string[] | undefined>;
}

export class ExpressionFailure extends Error {}

type ExpressionData = data.ExpressionData;

export function toData(value: Json | undefined): ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as ExpressionData;
}

export function fromData(value: ExpressionData): Json {
  return JSON.parse(JSON.stringify(value, data.replacer)) as Json;
}

function statusFunctions(status: Status): Map<string, FunctionDefinition> {
  const fn = (name: string, value: () => boolean): FunctionDefinition => ({ name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value()) });
  return new Map<string, FunctionDefinition>([
    ['success', fn('success', () => status.success && !status.cancelled)],
    ['failure', fn('failure', () => status.failure && !status.cancelled)],
    ['always', fn('always', () => true)],
    ['cancelled', fn('cancelled', () => status.cancelled)],
  ]);
}

/** Property chains the expression reads: `needs.a.outputs.b` -> ['needs','a','outputs','b'] (literal indexes included). */
function chains(tokens: Token[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    const prev = tokens[i - 1];
    if (t.type !== TokenType.IDENTIFIER || (prev && prev.type === TokenType.DOT)) continue;
    if (tokens[i + 1]?.type === TokenType.LEFT_PAREN) continue;
    const chain = [t.lexeme];
    let j = i + 1;
    for (;;) {
      const a = tokens[j];
      const b = tokens[j + 1];
      if (a?.type === TokenType.DOT && b?.type === TokenType.IDENTIFIER) {
        chain.push(b.lexeme);
        j += 2;
      } else if (a?.type === TokenType.LEFT_BRACKET && b?.type === TokenType.STRING && tokens[j + 2]?.type === TokenType.RIGHT_BRACKET) {
        chain.push(String(b.value));
        j += 3;
      } else break;
    }
    out.push(chain);
  }
  return out;
}

function checkReferences(tokens: Token[], scope: Scope): string | undefined {
  for (const c of chains(tokens)) {
    const [ctx, id, kind, name] = c.map((x) => x.toLowerCase());
    if (ctx === 'needs' && scope.needs && id !== undefined) {
      const entry = Object.entries(scope.needs).find(([k]) => k.toLowerCase() === id);
      if (!entry) {
        const have = Object.keys(scope.needs);
        return `job '${c[1]}' is not in this job's needs (${have.length ? have.join(', ') : 'it has none'})`;
      }
      if (kind === 'outputs' && name !== undefined && !entry[1].some((o) => o.toLowerCase() === name)) {
        return `job '${entry[0]}' has no output '${c[3]}' (it declares: ${entry[1].join(', ') || 'none'})`;
      }
    }
    if (ctx === 'steps' && scope.steps && id !== undefined) {
      const entry = Object.entries(scope.steps).find(([k]) => k.toLowerCase() === id);
      if (!entry) return `this job has no step with id '${c[1]}' (ids: ${Object.keys(scope.steps).join(', ') || 'none'})`;
      if (kind === 'outputs' && name !== undefined && entry[1] && !entry[1].some((o) => o.toLowerCase() === name)) {
        return `step '${entry[0]}' wrote no output '${c[3]}' (it wrote: ${entry[1].join(', ') || 'none'})`;
      }
    }
  }
  return undefined;
}

/** Evaluate one expression (the text inside `${{ }}`). Throws ExpressionFailure naming it. */
export function evaluate(expression: string, contexts: Record<string, Json>, status: Status, scope: Scope = {}): ExpressionData {
  const shown = `\${{ ${expression} }}`;
  try {
    const { tokens } = new Lexer(expression).lex();
    const problem = checkReferences(tokens, scope);
    if (problem) throw new ExpressionFailure(`${shown}: ${problem}`);
    const functions = statusFunctions(status);
    const ast = new Parser(tokens, Object.keys(contexts), [...functions.values()]).parse();
    const dict = new data.Dictionary(...Object.entries(contexts).map(([key, value]) => ({ key, value: toData(value) })));
    return new Evaluator(ast, dict, functions).evaluate();
  } catch (err) {
    if (err instanceof ExpressionFailure) throw err;
    throw new ExpressionFailure(`${shown}: ${(err as Error).message}`);
  }
}

export function truthy(value: ExpressionData): boolean {
  switch (value.kind) {
    case data.Kind.Null:
      return false;
    case data.Kind.Boolean:
      return (value as data.BooleanData).value;
    case data.Kind.Number: {
      const n = (value as data.NumberData).number();
      return n !== 0 && !Number.isNaN(n);
    }
    case data.Kind.String:
      return value.coerceString() !== '';
    default:
      return true;
  }
}

/** GitHub's truthiness of a plain value: null, false, 0, NaN and '' are false. */
export function truthyJson(value: Json): boolean {
  return value !== null && value !== false && value !== 0 && value !== '' && !Number.isNaN(value);
}

/** A template token (mapping, sequence, literal or expression) as plain JSON, every expression evaluated. */
export function evaluateToken(token: TemplateToken | undefined, contexts: Record<string, Json>, status: Status, scope: Scope = {}): Json {
  if (token === undefined) return null;
  if (isBasicExpression(token)) return fromData(evaluate(token.expression, contexts, status, scope));
  if (isString(token)) return token.value;
  if (isBoolean(token)) return token.value;
  if (isNumber(token)) return token.value;
  if (isSequence(token)) {
    const out: Json[] = [];
    for (let i = 0; i < token.count; i++) out.push(evaluateToken(token.get(i), contexts, status, scope));
    return out;
  }
  if (isMapping(token)) {
    const out: Record<string, Json> = {};
    for (let i = 0; i < token.count; i++) {
      const { key, value } = token.get(i);
      out[String(evaluateToken(key, contexts, status, scope))] = evaluateToken(value, contexts, status, scope);
    }
    return out;
  }
  return null;
}

/** The string a value becomes in env, `with:` and `run:` (GitHub's coercion: null -> '', objects as JSON). */
export function asString(value: Json): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 2);
}
