/** Pulling Ollama models through the service proxy, following the pull's progress stream. */
import { ActionError } from '../errors.js';
import { info } from '../runner.js';
import type { Kubectl } from './kubectl.js';

export async function pullModels(k: Kubectl, models: string[]): Promise<void> {
  for (const model of models) {
    info(`ollama: pulling ${model}`);
    const r = await k.run(['create', '--raw', '/api/v1/namespaces/ollama/services/ollama:11434/proxy/api/pull', '-f', '-'], { input: JSON.stringify({ model, stream: true }) });
    if (r.code !== 0) throw new ActionError(`ollama: pulling ${model} failed: ${r.stderr.trim()}`);
    let lastStatus = '';
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      try {
        const ev = JSON.parse(line) as { status?: string; completed?: number; total?: number; error?: string };
        if (ev.error) throw new ActionError(`ollama: pulling ${model} failed: ${ev.error}`);
        const pct = ev.total ? ` ${Math.floor(((ev.completed ?? 0) / ev.total) * 100)}%` : '';
        const s = `${ev.status ?? ''}${pct}`;
        if (s !== lastStatus) info(`ollama ${model}: ${s}`);
        lastStatus = s;
      } catch (err) {
        if (err instanceof ActionError) throw err;
      }
    }
    if (lastStatus !== 'success') throw new ActionError(`ollama: pulling ${model} did not finish (last status: ${lastStatus || 'none'}).`);
  }
}
