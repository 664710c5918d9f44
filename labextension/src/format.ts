/**
 * Text and derived views of the API's types: locations, summaries,
 * durations, values, progress. Pure functions, no DOM.
 */
import {
  BatchRecord,
  ExportResult,
  Finding,
  GateStep,
  Location,
  Plan,
  PlannedFile,
  RunRecord
} from './wire';

/**
 * Format a location as `path, cell 3, line 2`. The API's cell is the
 * zero-based index; people (and JupyterLab's status bar) count from 1.
 */
export function formatLocation(location: Location | null): string {
  if (!location) {
    return '';
  }
  const parts: string[] = [];
  if (location.path) {
    parts.push(location.path);
  }
  if (location.cell !== null) {
    parts.push(`cell ${location.cell + 1}`);
  }
  if (location.line !== null) {
    parts.push(`line ${location.line}`);
  }
  return parts.join(', ');
}

/** The kinds of files, in the order the preview shows them. */
const KIND_ORDER = ['module', 'tests', 'package'];

/** The planned files in preview order: modules, tests, package files. */
export function previewFiles(plan: Plan): PlannedFile[] {
  const rank = (kind: string) => {
    const i = KIND_ORDER.indexOf(kind);
    return i < 0 ? KIND_ORDER.length : i;
  };
  return [...plan.files].sort((a, b) => rank(a.kind) - rank(b.kind));
}

/** The errors of a plan (export is refused while there are any). */
export function planErrors(plan: Plan | null): number {
  return plan ? plan.problems.filter(p => p.severity === 'error').length : 0;
}

/** The number of cells the plan gives `role`. */
export function cellsWithRole(plan: Plan, ...roles: string[]): number {
  return plan.cells.filter(c => roles.includes(c.role)).length;
}

/** One line for an export: `2 written, 1 unchanged`. */
export function exportSummary(result: ExportResult): string {
  const counts = new Map<string, number>();
  for (const file of result.files) {
    counts.set(file.status, (counts.get(file.status) ?? 0) + 1);
  }
  if (!counts.size) {
    return 'nothing to export';
  }
  return [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
}

/** Progress of a batch as fractions of the total, for the progress bar. */
export function batchProgress(batch: BatchRecord): {
  done: number;
  failed: number;
  running: number;
  finished: boolean;
  label: string;
} {
  const total = Math.max(batch.total, 1);
  const c = batch.counts;
  const failed = c.failed + c.cancelled;
  const parts = [`${c.succeeded + failed}/${batch.total} done`];
  if (c.failed) {
    parts.push(`${c.failed} failed`);
  }
  if (c.cancelled) {
    parts.push(`${c.cancelled} cancelled`);
  }
  if (c.running) {
    parts.push(`${c.running} running`);
  }
  return {
    done: c.succeeded / total,
    failed: failed / total,
    running: c.running / total,
    finished: batch.terminal,
    label: parts.join(' · ')
  };
}

/** Format seconds as `4.2 s` or `2 min 5 s`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) {
    return '';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** Format a metric or parameter value for a table cell. */
export function formatValue(value: unknown): string {
  if (value === undefined) {
    return '';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

/** A run's parameter as text: the server's (a float keeps its `.0`), else from the value. */
export function parameterValue(run: RunRecord, name: string): string {
  return run.parameter_text[name] ?? formatValue(run.parameters[name]);
}

/** The names of every metric in these runs, sorted. */
export function metricNames(runs: RunRecord[]): string[] {
  const names = new Set<string>();
  for (const run of runs) {
    for (const [name, value] of Object.entries(run.metrics)) {
      if (typeof value === 'number') {
        names.add(name);
      }
    }
  }
  return [...names].sort();
}

/**
 * The runs of a chart, oldest first, that have a number for `metric`; each
 * labelled by its place on the run axis (`#1 r-…`), since the runs of a batch
 * often start in the same second.
 */
export function chartPoints(runs: RunRecord[], metric: string): { label: string; value: number; run: RunRecord }[] {
  return runs
    .filter(run => typeof run.metrics[metric] === 'number')
    .sort((a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? '') || a.id.localeCompare(b.id))
    .map((run, i) => ({ label: `#${i + 1} ${shortId(run.id)}`, value: run.metrics[metric] as number, run }));
}

/** The distinctive end of a run id (`r-20261201-084514-3f2a` → `3f2a`). */
export function shortId(id: string): string {
  const parts = id.split('-');
  return parts.length > 1 ? parts[parts.length - 1] : id;
}

/** `13:52:21` of an ISO time (the runs of a chart are usually from one day). */
export function shortTime(iso: string | null): string {
  if (!iso) {
    return '';
  }
  const date = new Date(iso);
  return isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour12: false });
}

/** `path:cell_2:3:1` (like the CLI), or the test name, or `""`. */
export function findingWhere(finding: Finding): string {
  if (!finding.path) {
    return finding.name ?? '';
  }
  let text = finding.path;
  if (finding.cell !== null) {
    text += `:cell_${finding.cell}`;
  }
  for (const part of [finding.line, finding.col]) {
    if (part === null) {
      break;
    }
    text += `:${part}`;
  }
  return text;
}

/** The findings worth showing: errors and warnings, not passing tests. */
export function problemFindings(step: GateStep): Finding[] {
  return step.findings.filter(f => f.severity !== 'info');
}

/**
 * Encode a notebook path for a URL: each segment encoded, slashes kept.
 */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter(part => part !== '')
    .map(encodeURIComponent)
    .join('/');
}

/**
 * A hint in the panel's words: the core's hints name commands (`run nbprod
 * export`) where the panel has a button for the same thing.
 */
export function uiHint(hint: string): string {
  const buttons: [RegExp, string][] = [
    [/(overwrite them with |run )?`?nbprod export --force`?/g, 'press Force Export'],
    [/(run )?`?nbprod export`?/g, 'press Export in the Production panel'],
    [/(run )?`?nbprod push`?( again)?/g, 'press Check & Push$2'],
    [/(run )?`?nbprod check`?/g, 'press Check Only'],
    [/pass --force to overwrite them/g, 'press Force Export to overwrite them'],
    [/(run )?`?nbprod deps --add`?/g, 'press Add dependencies']
  ];
  return buttons.reduce((text, [pattern, words]) => text.replace(pattern, words), hint);
}

/** The panel's button for each remedy an error names (`actions` of the server's errors). */
const ACTION_BUTTONS: Record<string, string> = {
  export: 'Export',
  force_export: 'Force Export',
  sync: 'Pull edits into notebook'
};

/**
 * An error's hint in the panel's words, and the buttons of its remedies:
 * `pull the edits … — press Pull edits into notebook or Force Export`.
 */
export function hintWithButtons(hint: string | null, actions: string[]): string {
  const text = hint ? uiHint(hint) : '';
  const buttons = actions.map(a => ACTION_BUTTONS[a]).filter((b): b is string => !!b && !text.includes(b));
  if (!buttons.length) {
    return text;
  }
  const press = `press ${buttons.join(' or ')} in the Production panel`;
  return text ? `${text}: ${press}` : press;
}

/** What a line of a unified diff is: file header, hunk header, added, removed, context, or a note. */
export type DiffKind = 'file' | 'hunk' | 'add' | 'del' | 'same' | 'note';

/** One line of a unified diff, with its kind (the renderer colours by it). */
export interface DiffLine {
  kind: DiffKind;
  text: string;
}

/**
 * The lines of a unified diff (difflib's or git's), each with its kind.
 *
 * Inside a hunk the `@@ -a,b +c,d @@` header's counts say how many lines
 * follow, so a removed line that reads `-- x` (shown `--- x`) is never taken
 * for a file header; outside hunks every line is a header. Notes are the lines
 * that are not part of the diff: git's `\ No newline at end of file` and the
 * server's `… N more lines` cut.
 */
export function diffLines(diff: string): DiffLine[] {
  if (!diff) {
    return [];
  }
  let oldLeft = 0;
  let newLeft = 0;
  return diff
    .replace(/\n$/, '')
    .split('\n')
    .map((text): DiffLine => {
      if (text.startsWith('\\') || text.startsWith('… ')) {
        return { kind: 'note', text };
      }
      if (oldLeft > 0 || newLeft > 0) {
        if (text.startsWith('+')) {
          newLeft--;
          return { kind: 'add', text };
        }
        if (text.startsWith('-')) {
          oldLeft--;
          return { kind: 'del', text };
        }
        oldLeft--;
        newLeft--;
        return { kind: 'same', text };
      }
      const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(text);
      if (hunk) {
        oldLeft = hunk[1] === undefined ? 1 : Number(hunk[1]);
        newLeft = hunk[2] === undefined ? 1 : Number(hunk[2]);
        return { kind: 'hunk', text };
      }
      return { kind: 'file', text };
    });
}
