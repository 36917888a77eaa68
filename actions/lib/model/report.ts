/** The summaries of model-promote and model-retire: the gate's decision with its evidence, and what moved. */
import { Summary } from '../summary.js';
import type { PromoteResult } from './promote.js';

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(n < 1024 * 1024 ? 3 : 1)} MiB`;

export function writePromoteSummary(r: PromoteResult): void {
  const s = new Summary().heading(`Model promoted: ${r.model ? `${r.model.name} version ${r.model.version}` : r.source}`);
  s.table(
    ['', ''],
    [
      ['Gate', `${r.gate.dataClass}: allowed`],
      ['Evidence', r.gate.evidence],
      ['De-identified by', r.gate.deidentified?.by ?? (r.gate.dataClass === 'sensitive' ? '' : 'not needed')],
      ['De-identified at', r.gate.deidentified?.at ?? (r.gate.dataClass === 'sensitive' ? '' : 'not needed')],
      ['Source', r.source],
      ['Destination', r.uri],
      ['Manifest', `${r.manifestUri}${r.manifestWritten ? '' : ' (unchanged)'}`],
      ['Copied', `${r.files.length - r.skipped} files, ${mib(r.bytes)} in ${r.seconds} s${r.seconds > 0 && r.bytes > 0 ? ` (${(r.bytes / 1024 / 1024 / r.seconds).toFixed(1)} MiB/s)` : ''}`],
      ['Skipped', `${r.skipped} already present with the same checksum`],
      ['MLflow tag', r.model ? `mlabs.promoted=${r.uri}${r.tagged ? '' : ' (already set)'}` : 'not a registered version'],
    ],
  );
  const rows = r.files.slice(0, 200).map((f) => [f.path, f.size, f.copied ? (f.resumed ? `copied, resumed ${f.resumed}x` : 'copied') : 'skipped', f.sha256.slice(0, 16)]);
  s.table(['File', 'Bytes', 'Result', 'sha256 (first 16)'], rows);
  if (r.files.length > 200) s.paragraph(`…and ${r.files.length - 200} more files: see ${r.manifestUri}.`);
  s.write();
}
