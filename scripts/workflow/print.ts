// Prints a workflow run the way the Actions tab shows it: each job with its runner labels and
// concurrency group, each step with its outcome, time and log, and which steps ran a recorded
// stand-in (terraform, docker ...) rather than the real tool. Shared by `npm run workflow` and `npm run demo`.
import type { JobRecord, RunEvent, StepRecord, WorkflowRunResult } from './runner.js';

export interface PrintOptions {
  write?: (text: string) => void;
  /** Show at most this many log lines per step (the rest counted); all when unset. */
  maxLogLines?: number;
  /** Show at most this many lines of each job summary; all when unset. */
  maxSummaryLines?: number;
}

const mark: Record<string, string> = { success: '✓', failure: '✗', cancelled: '⊘', skipped: '-' };

function lines(text: string, max: number | undefined, pad: string): string {
  const all = text.trimEnd().split('\n').filter((l) => l !== '');
  const shown = max === undefined || all.length <= max ? all : all.slice(0, max);
  const more = all.length - shown.length;
  return [...shown.map((l) => `${pad}${l}`), ...(more > 0 ? [`${pad}… ${more} more line(s)`] : [])].join('\n');
}

/** The stand-ins a step called, as one line: `stand-in terraform: init, plan ...`. */
export function standInsOf(step: StepRecord): string | undefined {
  const byTool = new Map<string, string[]>();
  for (const c of step.toolCalls) byTool.set(c.tool, [...(byTool.get(c.tool) ?? []), c.args.slice(0, 2).join(' ')]);
  if (step.standIn) byTool.set(step.standIn, []);
  if (!byTool.size) return undefined;
  return [...byTool].map(([tool, calls]) => (calls.length ? `${tool} (${[...new Set(calls)].join('; ')})` : tool)).join(', ');
}

export function printer(opts: PrintOptions = {}): { onEvent: (e: RunEvent) => void; printResult: (r: WorkflowRunResult) => void } {
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  const printStep = (step: StepRecord): void => {
    const stand = standInsOf(step);
    const outcome = step.outcome !== step.conclusion ? `${step.outcome}, continue-on-error` : step.outcome;
    write(`  ${mark[step.conclusion]} ${step.name} (${outcome}, ${step.seconds.toFixed(1)} s)${stand ? ` [stand-in, not the real tool: ${stand}]` : ''}\n`);
    if (step.log.trim()) write(`${lines(step.log, opts.maxLogLines, '      ')}\n`);
    if (step.error && step.outcome === 'failure' && !step.log.includes(step.error)) write(`      Error: ${step.error}\n`);
  };
  const onEvent = (e: RunEvent): void => {
    const job: JobRecord = e.job;
    if (e.type === 'job-start') {
      const conc = job.concurrency ? `, concurrency ${job.concurrency}` : '';
      write(`\n● ${job.name} on [${job.runsOn.join(', ')}]${conc}${job.oidc ? ', id-token: write' : ''}\n`);
    } else if (e.type === 'step-end') printStep(e.step);
    else {
      if (job.steps.length === 0) write(`\n● ${job.name}\n`);
      write(`  ${mark[job.result]} ${job.name}: ${job.result}${job.error ? ` (${job.error})` : ''}\n`);
    }
  };
  const printResult = (result: WorkflowRunResult): void => {
    write(`\n${result.name} (${result.event}, run ${result.runId}${result.concurrency ? `, concurrency ${result.concurrency}` : ''})\n`);
    if (result.error) write(`Error: ${result.error}\n`);
    for (const job of result.jobs) {
      if (job.summary.trim()) write(`\n--- summary of ${job.name} ---\n${lines(job.summary, opts.maxSummaryLines, '')}\n`);
    }
    if (result.toolCalls.length) {
      write('\nStand-ins called (not the real tools):\n');
      for (const c of result.toolCalls) write(`  ${c.tool} ${JSON.stringify(c.args)}\n`);
    }
  };
  return { onEvent, printResult };
}
