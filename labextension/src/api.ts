/**
 * The shapes of nbprod's REST API (`/nbprod/api/`) and their parsing.
 *
 * Every response is read through a parser here, so a change of the server's
 * JSON is adapted in one place (and covered by the jest tests). Parsers are
 * lenient: missing fields get defaults, never an exception in the UI.
 */

/* ---------- helpers ---------- */

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : {};
}
function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}
function optStr(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
function num(value: unknown): number | null {
  return typeof value === 'number' && isFinite(value) ? value : null;
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
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

/* ---------- errors ---------- */

/** Where a problem or an error is. */
export interface Location {
  path: string | null;
  cell: number | null;
  cell_id: string | null;
  line: number | null;
}

/** The `{"error": {...}}` body of every failed request. */
export interface ApiErrorBody {
  message: string;
  hint: string | null;
  location: Location | null;
  /** For 409 on export: the files edited by hand. */
  files: string[];
}

export function parseLocation(value: unknown): Location | null {
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const data = obj(value);
  return {
    path: optStr(data.path),
    cell: num(data.cell),
    cell_id: optStr(data.cell_id),
    line: num(data.line)
  };
}

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

/**
 * Read an error body. Accepts `{"error": {...}}`, jupyter_server's
 * `{"message", "reason"}` and plain text, so the user always gets a sentence.
 */
export function parseError(body: unknown, status: number): ApiErrorBody {
  const data = obj(body);
  const error = obj(data.error);
  let message = str(error.message) || str(data.message) || str(data.reason);
  if (!message && typeof body === 'string' && body.trim() && !body.trim().startsWith('<')) {
    message = body.trim().slice(0, 300);
  }
  if (!message) {
    message = `the server answered ${status}`;
  }
  return {
    message,
    hint: optStr(error.hint),
    location: parseLocation(error.location),
    files: list(error.files).map(f => (typeof f === 'string' ? f : str(obj(f).path))).filter(Boolean)
  };
}

/* ---------- plan and export ---------- */

export type Severity = 'error' | 'warning' | 'note';

export interface Problem {
  severity: Severity;
  message: string;
  location: Location | null;
  hint: string | null;
}

export interface PlannedFile {
  path: string;
  kind: 'module' | 'tests' | 'package' | string;
  content: string;
}

export interface CellPlan {
  index: number;
  cell_id: string | null;
  role: string;
  module: string | null;
}

export interface Plan {
  notebook: string;
  module: string;
  cells: CellPlan[];
  files: PlannedFile[];
  problems: Problem[];
  ok: boolean;
}

export function parseProblem(value: unknown): Problem {
  const data = obj(value);
  const severity = str(data.severity, 'error');
  return {
    severity: (['error', 'warning', 'note'].includes(severity) ? severity : 'note') as Severity,
    message: str(data.message),
    location: parseLocation(data.location),
    hint: optStr(data.hint)
  };
}

export function parsePlan(value: unknown): Plan {
  const data = obj(value);
  const problems = list(data.problems).map(parseProblem);
  return {
    notebook: str(data.notebook),
    module: str(data.module),
    cells: list(data.cells).map(c => {
      const cell = obj(c);
      return {
        index: num(cell.index) ?? -1,
        cell_id: optStr(cell.cell_id),
        role: str(cell.role, 'none'),
        module: optStr(cell.module)
      };
    }),
    files: list(data.files).map(f => {
      const file = obj(f);
      return { path: str(file.path), kind: str(file.kind), content: str(file.content) };
    }),
    problems,
    ok: typeof data.ok === 'boolean' ? data.ok : !problems.some(p => p.severity === 'error')
  };
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

export interface ExportedFile {
  path: string;
  kind: string;
  status: 'written' | 'unchanged' | string;
}

export interface ExportResult {
  ok: boolean;
  files: ExportedFile[];
  problems: Problem[];
  errors: ApiErrorBody[];
}

export function parseExport(value: unknown): ExportResult {
  const data = obj(value);
  const files: ExportedFile[] = [];
  const problems: Problem[] = [];
  for (const nb of list(data.notebooks)) {
    const notebook = obj(nb);
    for (const f of list(notebook.files)) {
      const file = obj(f);
      files.push({ path: str(file.path), kind: str(file.kind), status: str(file.status) });
    }
    problems.push(...list(notebook.problems).map(parseProblem));
  }
  const errors = list(data.errors).map(e => parseError({ error: e }, 500));
  return {
    ok: typeof data.ok === 'boolean' ? data.ok : errors.length === 0,
    files,
    problems,
    errors
  };
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

/* ---------- parameters ---------- */

export interface Parameter {
  name: string;
  /** The default as a JSON value (null when it is not a literal). */
  default: unknown;
  /** The default as written in the parameters cell (`1.0`, `np.arange(3)`). */
  default_source: string;
  /** False when the default is an expression: the form leaves it alone unless typed. */
  literal: boolean;
  type: string;
  comment: string;
}

export function parseParameters(value: unknown): Parameter[] {
  return list(obj(value).parameters).map(p => {
    const data = obj(p);
    return {
      name: str(data.name),
      default: data.default,
      default_source: str(data.default_source),
      literal: data.literal !== false,
      type: str(data.type, 'str'),
      comment: str(data.comment)
    };
  }).filter(p => p.name);
}

/** The kind of input a parameter gets in the run form. */
export type InputKind = 'int' | 'float' | 'bool' | 'str' | 'json';

export function inputKind(type: string): InputKind {
  switch (type) {
    case 'int':
    case 'float':
    case 'bool':
    case 'str':
      return type;
    default:
      return 'json';
  }
}

/**
 * Read a value typed in the run form into the JSON value sent to the
 * server. Returns an error message instead when it cannot be read.
 */
export function readInput(kind: InputKind, text: string | boolean): { value?: unknown; error?: string } {
  if (kind === 'bool') {
    return { value: Boolean(text) };
  }
  const raw = String(text);
  if (kind === 'str') {
    return { value: raw };
  }
  const trimmed = raw.trim();
  if (kind === 'int') {
    return /^[-+]?\d+$/.test(trimmed)
      ? { value: parseInt(trimmed, 10) }
      : { error: `${JSON.stringify(raw)} is not a whole number` };
  }
  if (kind === 'float') {
    const value = Number(trimmed);
    return trimmed !== '' && isFinite(value)
      ? { value }
      : { error: `${JSON.stringify(raw)} is not a number` };
  }
  try {
    return { value: JSON.parse(trimmed) };
  } catch {
    return { error: `${JSON.stringify(raw)} is not valid JSON` };
  }
}

/** The text a parameter's default shows in the run form. */
export function defaultText(parameter: Parameter): string {
  const kind = inputKind(parameter.type);
  if (!parameter.literal) {
    // an expression: the field stays empty (placeholder: the expression)
    return '';
  }
  const source = parameter.default_source.trim();
  if ((kind === 'int' || kind === 'float') && /^[-+]?(\d[\d_]*)?\.?\d*(e[-+]?\d+)?$/i.test(source) && source) {
    // as written: 1.0 stays 1.0, 1e3 stays 1e3
    return source.replace(/_/g, '');
  }
  if (kind === 'str') {
    return typeof parameter.default === 'string' ? parameter.default : String(parameter.default ?? '');
  }
  if (kind === 'bool') {
    return parameter.default ? 'true' : 'false';
  }
  if (kind === 'float' && typeof parameter.default === 'number' && Number.isInteger(parameter.default)) {
    // JSON lost the decimal point
    return parameter.default.toFixed(1);
  }
  return JSON.stringify(parameter.default ?? null);
}

/* ---------- runs and batches ---------- */

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const FINISHED: readonly string[] = ['succeeded', 'failed', 'cancelled'];

export interface RunError {
  cell: number | null;
  cell_id: string | null;
  ename: string;
  evalue: string;
}

export interface RunRecord {
  id: string;
  batch_id: string | null;
  notebook: string;
  parameters: Record<string, unknown>;
  status: RunStatus | string;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  output_path: string | null;
  output_file: string | null;
  error: RunError | null;
  git_commit: string | null;
  git_dirty: boolean | null;
  metrics: Record<string, unknown>;
}

export function parseRun(value: unknown): RunRecord {
  const data = obj(value);
  const error = data.error ? obj(data.error) : null;
  return {
    id: str(data.id),
    batch_id: optStr(data.batch_id),
    notebook: str(data.notebook),
    parameters: obj(data.parameters),
    status: str(data.status, 'queued'),
    created_at: optStr(data.created_at),
    started_at: optStr(data.started_at),
    finished_at: optStr(data.finished_at),
    duration: num(data.duration),
    output_path: optStr(data.output_path),
    output_file: optStr(data.output_file) ?? optStr(data.output_path),
    error: error
      ? {
          cell: num(error.cell),
          cell_id: optStr(error.cell_id),
          ename: str(error.ename),
          evalue: str(error.evalue)
        }
      : null,
    git_commit: optStr(data.git_commit),
    git_dirty: typeof data.git_dirty === 'boolean' ? data.git_dirty : null,
    metrics: obj(data.metrics)
  };
}

/** A run in a `{run: ...}` envelope or bare. */
export function parseRunReply(value: unknown): RunRecord {
  const data = obj(value);
  return parseRun('run' in data ? data.run : data);
}

export interface RunList {
  runs: RunRecord[];
  total: number;
}

export function parseRunList(value: unknown): RunList {
  const data = obj(value);
  const runs = list(data.runs).map(parseRun);
  return { runs, total: num(data.total) ?? runs.length };
}

export interface BatchCounts {
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface BatchRecord {
  id: string;
  notebook: string;
  status: string;
  jobs: number;
  output_dir: string;
  created_at: string | null;
  finished_at: string | null;
  counts: BatchCounts;
  total: number;
}

export interface BatchReply {
  batch: BatchRecord;
  runs: RunRecord[];
}

export function parseBatchReply(value: unknown): BatchReply {
  const data = obj(value);
  const batch = obj(data.batch);
  const runs = list(data.runs).map(parseRun);
  const raw = obj(batch.counts);
  const counts: BatchCounts = {
    queued: num(raw.queued) ?? 0,
    running: num(raw.running) ?? 0,
    succeeded: num(raw.succeeded) ?? 0,
    failed: num(raw.failed) ?? 0,
    cancelled: num(raw.cancelled) ?? 0
  };
  // the runs are the truth when the counts are missing
  if (!Object.keys(raw).length) {
    for (const run of runs) {
      if (run.status in counts) {
        counts[run.status as keyof BatchCounts] += 1;
      }
    }
  }
  const sum = counts.queued + counts.running + counts.succeeded + counts.failed + counts.cancelled;
  return {
    batch: {
      id: str(batch.id),
      notebook: str(batch.notebook),
      status: str(batch.status, 'running'),
      jobs: num(batch.jobs) ?? 1,
      output_dir: str(batch.output_dir),
      created_at: optStr(batch.created_at),
      finished_at: optStr(batch.finished_at),
      counts,
      total: num(batch.total) ?? Math.max(sum, runs.length)
    },
    runs
  };
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
  const finished =
    FINISHED.includes(batch.status) || (c.queued === 0 && c.running === 0 && c.succeeded + failed >= batch.total);
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
    finished,
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
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
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

/** The runs of a chart, oldest first, that have a number for `metric`. */
export function chartPoints(runs: RunRecord[], metric: string): { label: string; value: number; run: RunRecord }[] {
  return runs
    .filter(run => typeof run.metrics[metric] === 'number')
    .sort((a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? ''))
    .map(run => ({ label: shortTime(run.created_at) || run.id, value: run.metrics[metric] as number, run }));
}

/** `13:52:21` of an ISO time (the runs of a chart are usually from one day). */
export function shortTime(iso: string | null): string {
  if (!iso) {
    return '';
  }
  const date = new Date(iso);
  return isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour12: false });
}

/* ---------- gate, push, jobs ---------- */

export interface Finding {
  message: string;
  path: string | null;
  line: number | null;
  col: number | null;
  cell: number | null;
  code: string | null;
  severity: string;
  name: string | null;
  outcome: string | null;
  hint: string | null;
}

export interface GateStep {
  name: string;
  status: string;
  duration: number | null;
  summary: string;
  findings: Finding[];
}

export interface GateReport {
  ok: boolean;
  summary: string;
  steps: GateStep[];
}

export function parseFinding(value: unknown): Finding {
  const data = obj(value);
  return {
    message: str(data.message),
    path: optStr(data.path),
    line: num(data.line),
    col: num(data.col),
    cell: num(data.cell),
    code: optStr(data.code),
    severity: str(data.severity, 'error'),
    name: optStr(data.name) ?? optStr(data.test),
    outcome: optStr(data.outcome),
    hint: optStr(data.hint)
  };
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

export function parseGateReport(value: unknown): GateReport | null {
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const data = obj(value);
  const steps = list(data.steps).map(s => {
    const step = obj(s);
    return {
      name: str(step.name),
      status: str(step.status),
      duration: num(step.duration),
      summary: str(step.summary),
      findings: list(step.findings).map(parseFinding)
    };
  });
  const ok =
    typeof data.ok === 'boolean'
      ? data.ok
      : data.status !== undefined
        ? data.status === 'passed'
        : !steps.some(s => s.status === 'failed' || s.status === 'error');
  return { ok, summary: str(data.summary), steps };
}

export interface JobStep {
  name: string;
  status: string;
}

export interface Job {
  id: string;
  kind: string;
  status: string;
  steps: JobStep[];
  result: unknown;
  error: ApiErrorBody | null;
  /** The gate report of a failed job's error (a push refused by the gate). */
  errorReport: GateReport | null;
}

export function parseJob(value: unknown): Job {
  const outer = obj(value);
  const data = 'job' in outer ? obj(outer.job) : outer;
  const error = data.error;
  return {
    id: str(data.id),
    kind: str(data.kind),
    status: str(data.status, 'queued'),
    steps: list(data.steps).map(s => ({ name: str(obj(s).name), status: str(obj(s).status) })),
    result: data.result ?? null,
    error:
      error === null || error === undefined || error === ''
        ? null
        : typeof error === 'string'
          ? { message: error, hint: null, location: null, files: [] }
          : parseError({ error }, 500),
    errorReport:
      typeof error === 'object' && error !== null && typeof obj(error).report === 'object'
        ? parseGateReport(obj(error).report)
        : null
  };
}

export function jobFinished(job: Job): boolean {
  return ['succeeded', 'failed', 'cancelled', 'error'].includes(job.status);
}

/**
 * The gate report inside a job's result: the result itself for a gate job;
 * for a push job, its `gate` (or `report`) field.
 */
export function jobGateReport(job: Job): GateReport | null {
  const result = obj(job.result);
  if (Array.isArray(result.steps) && !('gate' in result)) {
    return parseGateReport(result);
  }
  for (const key of ['gate', 'report', 'check']) {
    if (typeof result[key] === 'object' && result[key] !== null) {
      return parseGateReport(result[key]);
    }
  }
  return job.errorReport;
}

export interface PushResult {
  pushed: boolean;
  commit: string | null;
  remote: string | null;
  branch: string | null;
  message: string;
}

/** The commit and push part of a push job's result. */
export function parsePushResult(value: unknown): PushResult {
  const data = obj(value);
  const commit = optStr(data.commit) ?? optStr(obj(data.commit).sha) ?? optStr(data.sha);
  return {
    pushed: data.pushed === true || (data.pushed === undefined && data.ok === true),
    commit,
    remote: optStr(data.remote),
    branch: optStr(data.branch),
    // the commit message: its first line (the trailer follows)
    message: (str(data.message) || str(data.summary)).split('\n')[0]
  };
}

export interface GitStatus {
  branch: string;
  remote: string;
  ahead: number;
  behind: number;
  changed: string[];
}

export function parseGitStatus(value: unknown): GitStatus {
  const data = obj(value);
  return {
    branch: str(data.branch),
    remote: str(data.remote),
    ahead: num(data.ahead) ?? 0,
    behind: num(data.behind) ?? 0,
    changed: list(data.changed).map(c => (typeof c === 'string' ? c : str(obj(c).path)))
  };
}
