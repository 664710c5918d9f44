/**
 * The shapes of nbprod's REST API (`/nbprod/api/`), as the UI reads them.
 *
 * Only types live here: `parse.ts` turns the server's JSON into them,
 * `client.ts` calls the routes, `format.ts` turns them into text.
 */

/** Where a problem or an error is. */
export interface Location {
  path: string | null;
  cell: number | null;
  cell_id: string | null;
  line: number | null;
}

/** The `{"error": {...}}` body of every failed request. */
export interface ApiErrorBody {
  /**
   * The machine-readable kind of the error (`hand_edited`, `bad_parameter`,
   * `not_found`, `run_output`, ...): the UI decides on it, never on the HTTP
   * status or the message. `''` when the server sent none.
   */
  type: string;
  message: string;
  hint: string | null;
  location: Location | null;
  /** For `hand_edited`: the files edited by hand. */
  files: string[];
  /** For `run_output`: the run that wrote the notebook. */
  run_id: string | null;
  /** The remedies the server names (`sync`, `force_export`, `init`, ...): the UI's buttons for them. */
  actions: string[];
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

/** A code cell's role as the server's plan decides it. */
export interface CellPlan {
  index: number;
  cell_id: string | null;
  /** `export`, `exporti`, `test`, `parameters` or `none`. */
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

/** The kind of input a parameter gets in the run form. */
export type InputKind = 'int' | 'float' | 'bool' | 'str' | 'json';

/* ---------- runs and batches ---------- */

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
  /** Each parameter as the CLI shows it (a float keeps its `.0`, which JSON numbers lose). */
  parameter_text: Record<string, string>;
  status: string;
  /** The server says whether the status is final (never a list kept here). */
  terminal: boolean;
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

export interface RunList {
  runs: RunRecord[];
  total: number;
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
  terminal: boolean;
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

/* ---------- comparison ---------- */

/** One parameter across the compared runs. */
export interface ComparedParameter {
  name: string;
  /** One value per run, in the runs' order; `undefined` when unknown. */
  values: unknown[];
  /** Each value as Python writes it (`1.0` stays `1.0`); `''` when unknown. */
  texts: string[];
  /** Where each value came from: `given`, `default` or `unknown`. */
  sources: string[];
  differs: boolean;
}

/** One metric across the compared runs. */
export interface ComparedMetric {
  name: string;
  values: (number | null)[];
  /** `max` or `min`: which end is best. */
  goal: 'max' | 'min';
  /** The index of the best run (null when no run has a number). */
  best: number | null;
  differs: boolean;
}

export interface Comparison {
  runs: RunRecord[];
  parameters: ComparedParameter[];
  metrics: ComparedMetric[];
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

export interface JobStep {
  name: string;
  status: string;
}

export interface Job {
  id: string;
  kind: string;
  status: string;
  /** True once the job ended (it has a finish time), whatever its status. */
  terminal: boolean;
  steps: JobStep[];
  result: unknown;
  error: ApiErrorBody | null;
  /** The gate report of a failed job's error (a push refused by the gate). */
  errorReport: GateReport | null;
}

export interface PushResult {
  pushed: boolean;
  commit: string | null;
  remote: string | null;
  branch: string | null;
  message: string;
}

export interface GitStatus {
  branch: string;
  remote: string;
  ahead: number;
  behind: number;
  changed: string[];
}

/** One file a push would commit, with its diff. */
export interface ShipFile {
  path: string;
  /** `added`, `modified`, `deleted`, `renamed`. */
  status: string;
  /** `notebook` (diffed as cells, outputs stripped), `text` or `binary`. */
  kind: string;
  /** Unified diff text (for notebooks: per cell, of sources). */
  diff: string;
  /** True when the file is a generated file export would rewrite. */
  generated: boolean;
}

/** What the next push will do. */
export interface ShipPreview {
  files: ShipFile[];
  /** Files export would change first (stale generated files). */
  stale: string[];
  /** The output-stripping filter is not configured yet: the first push sets it. */
  configures_filter: boolean;
  branch: string;
  remote: string;
  ahead: number;
}

/** What the server says about itself: the rules the UI must not guess. */
export interface ServerInfo {
  version: string;
  /** Parallel runs of a batch when the user gives none (`nbprod.config.default_jobs`). */
  default_jobs: number;
  /** The folder of run outputs, relative to the server root. */
  runs_dir: string;
}

/* ---------- monitoring ---------- */

/** One check of a run against its baseline (`nbprod monitor --json`). */
export interface MonitorCheck {
  kind: 'drift' | 'metric' | string;
  key: string;
  profile: string | null;
  column: string | null;
  metric: string | null;
  method: string;
  statistic: number | null;
  threshold: number | null;
  ok: boolean;
  /** Whether a failure of this check is an alert. */
  alert: boolean;
  detail: string;
}

/** A notebook's alert state. */
export interface MonitorState {
  state: 'ok' | 'alert' | string;
  since: string | null;
  failing: string[];
}

/** The checks of a notebook's latest run (or of one run). */
export interface MonitorReport {
  notebook: string;
  run: string | null;
  baseline: string | null;
  baseline_source: string;
  ok: boolean;
  checks: MonitorCheck[];
  state: MonitorState;
}

/** One check's statistic at one run. */
export interface CheckPoint {
  run: string;
  created_at: string | null;
  baseline: string | null;
  statistic: number | null;
  threshold: number | null;
  ok: boolean;
}

/** A drifted column's distributions: shares per bin (numeric) or per category. */
export interface Distribution {
  kind: 'numeric' | 'categorical' | string;
  /** Bin edges (numeric: one more than the shares). */
  edges: number[];
  /** Category labels (categorical). */
  labels: string[];
  baseline: number[];
  current: number[];
}

/** `GET monitor/checks`: one check over runs. */
export interface CheckSeries {
  notebook: string;
  name: string;
  series: CheckPoint[];
  distribution: Distribution | null;
}

/** An alert event: a check started failing (`fired`) or passes again. */
export interface AlertEvent {
  id: number;
  notebook: string;
  key: string;
  event: 'fired' | 'resolved' | string;
  run: string;
  batch: string | null;
  message: string;
  created_at: string | null;
}
