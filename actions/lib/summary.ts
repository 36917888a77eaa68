/**
 * Job summaries: a small markdown builder. Everything is redacted of registered
 * secrets when written (runner.appendSummary).
 */
import { appendSummary } from './runner.js';

export type Cell = string | number | boolean | undefined | null;

function cellText(c: Cell): string {
  if (c === undefined || c === null || c === '') return '—';
  return String(c).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

export class Summary {
  private readonly parts: string[] = [];

  heading(text: string, level = 2): this {
    this.parts.push(`${'#'.repeat(level)} ${text}`);
    return this;
  }

  paragraph(text: string): this {
    this.parts.push(text);
    return this;
  }

  list(items: string[]): this {
    if (items.length) this.parts.push(items.map((i) => `- ${i}`).join('\n'));
    return this;
  }

  table(headers: string[], rows: Cell[][]): this {
    const lines = [`| ${headers.map((h) => (h === '' ? ' ' : cellText(h))).join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`];
    for (const r of rows) lines.push(`| ${headers.map((_, i) => cellText(r[i])).join(' | ')} |`);
    this.parts.push(lines.join('\n'));
    return this;
  }

  code(text: string, lang = ''): this {
    this.parts.push('```' + lang + '\n' + text + '\n```');
    return this;
  }

  details(title: string, body: string): this {
    this.parts.push(`<details><summary>${title}</summary>\n\n${body}\n\n</details>`);
    return this;
  }

  toString(): string {
    return this.parts.join('\n\n') + '\n';
  }

  /** Append to the job summary file. */
  write(): void {
    appendSummary(this.toString());
  }
}
