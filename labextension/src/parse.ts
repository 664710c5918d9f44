/**
 * Parsers of the server's JSON into the types of `wire.ts`.
 *
 * Every response is read through a parser here, so a change of the server's
 * JSON is adapted in one place (and covered by the jest tests). Parsers are
 * lenient: missing fields get defaults, never an exception in the UI.
 */
import {
  AlertEvent,
  ApiErrorBody,
  CheckSeries,
  BatchCounts,
  BatchReply,
  Comparison,
  ExportedFile,
  ExportResult,
  Finding,
  GateReport,
  GitStatus,
  Job,
  Location,
  MonitorCheck,
  MonitorReport,
  Parameter,
  Plan,
  Problem,
  PushResult,
  RunList,
  RunRecord,
  ServerInfo,
  Severity,
  ShipPreview
} from './wire';

type Json = Record<string, unknown>;

/* ---------- the lenient readers every parser uses (syncwire.ts and deps.ts too) ---------- */

/** An object, or `{}` for anything else (arrays included). */
export function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}
/** A string, or `fallback`. */
export function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}
/** A string, or null. */
export function optStr(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
/** A finite number, or null. */
export function num(value: unknown): number | null {
  return typeof value === 'number' && isFinite(value) ? value : null;
}
/** An array, or `[]`. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
/** The strings of an array (other items left out). */
export function strings(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === 'string');
}
/** A boolean, or `fallback`. */
export function bool(value: unknown, fallback = false): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

/* ---------- errors ---------- */

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
    type: str(error.type),
    message,
    hint: optStr(error.hint),
    location: parseLocation(error.location),
    files: list(error.files)
      .map(f => (typeof f === 'string' ? f : str(obj(f).path)))
      .filter(Boolean),
    run_id: optStr(error.run_id),
    actions: list(error.actions).filter((a): a is string => typeof a === 'string')
  };
}

/* ---------- plan and export ---------- */

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

/* ---------- parameters ---------- */

export function parseParameters(value: unknown): Parameter[] {
  return list(obj(value).parameters)
    .map(p => {
      const data = obj(p);
      return {
        name: str(data.name),
        default: data.default,
        default_source: str(data.default_source),
        literal: data.literal !== false,
        // null: the default is None or an expression, any value fits
        type: str(data.type),
        comment: str(data.comment)
      };
    })
    .filter(p => p.name);
}

/* ---------- runs and batches ---------- */

export function parseRun(value: unknown): RunRecord {
  const data = obj(value);
  const error = data.error ? obj(data.error) : null;
  return {
    id: str(data.id),
    batch_id: optStr(data.batch_id),
    notebook: str(data.notebook),
    parameters: obj(data.parameters),
    parameter_text: Object.fromEntries(
      Object.entries(obj(data.parameter_text)).filter((e): e is [string, string] => typeof e[1] === 'string')
    ),
    status: str(data.status, 'queued'),
    terminal: data.terminal === true,
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

export function parseRunList(value: unknown): RunList {
  const data = obj(value);
  const runs = list(data.runs).map(parseRun);
  return { runs, total: num(data.total) ?? runs.length };
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
      terminal: batch.terminal === true,
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

/** The `runs/compare` reply. */
export function parseComparison(value: unknown): Comparison {
  const data = obj(value);
  const runs = list(data.runs).map(parseRun);
  return {
    runs,
    parameters: list(data.parameters).map(p => {
      const item = obj(p);
      const values = list(item.values).map(v => (v === null ? undefined : v));
      return {
        name: str(item.name),
        values,
        texts: list(item.texts).map(t => str(t)),
        sources: list(item.sources).map(s => str(s, 'unknown')),
        differs: item.differs === true
      };
    }),
    metrics: list(data.metrics).map(m => {
      const item = obj(m);
      return {
        name: str(item.name),
        values: list(item.values).map(num),
        goal: item.goal === 'min' ? ('min' as const) : ('max' as const),
        best: num(item.best),
        differs: item.differs === true
      };
    })
  };
}

/* ---------- gate, push, jobs ---------- */

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

export function parseJob(value: unknown): Job {
  const outer = obj(value);
  const data = 'job' in outer ? obj(outer.job) : outer;
  const error = data.error;
  return {
    id: str(data.id),
    kind: str(data.kind),
    status: str(data.status, 'queued'),
    // the history stamps a job's finish when it ends, whatever the status
    terminal: typeof data.finished_at === 'string' && data.finished_at !== '',
    steps: list(data.steps).map(s => ({ name: str(obj(s).name), status: str(obj(s).status) })),
    result: data.result ?? null,
    error:
      error === null || error === undefined || error === ''
        ? null
        : typeof error === 'string'
          ? { type: '', message: error, hint: null, location: null, files: [], run_id: null, actions: [] }
          : parseError({ error }, 500),
    errorReport:
      typeof error === 'object' && error !== null && typeof obj(error).report === 'object'
        ? parseGateReport(obj(error).report)
        : null
  };
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

export function parseShipPreview(value: unknown): ShipPreview {
  const data = obj(value);
  return {
    files: list(data.files).map(f => {
      const file = obj(f);
      return {
        path: str(file.path),
        status: str(file.status, 'modified'),
        kind: str(file.kind, 'text'),
        diff: str(file.diff),
        generated: file.generated === true
      };
    }),
    stale: list(data.stale).map(s => str(s)).filter(Boolean),
    configures_filter: data.configures_filter === true,
    branch: str(data.branch),
    remote: str(data.remote),
    ahead: num(data.ahead) ?? 0
  };
}

export function parseServerInfo(value: unknown): ServerInfo {
  const data = obj(value);
  return {
    version: str(data.version),
    default_jobs: Math.max(1, num(data.default_jobs) ?? 1),
    runs_dir: str(data.runs_dir)
  };
}

/* ---------- monitoring ---------- */

function numbers(value: unknown): number[] {
  return list(value).map(v => num(v) ?? 0);
}

export function parseMonitorCheck(value: unknown): MonitorCheck {
  const data = obj(value);
  return {
    kind: str(data.kind),
    key: str(data.key),
    profile: optStr(data.profile),
    column: optStr(data.column),
    metric: optStr(data.metric),
    method: str(data.method),
    statistic: num(data.statistic),
    threshold: num(data.threshold),
    ok: bool(data.ok, true),
    alert: bool(data.alert),
    detail: str(data.detail)
  };
}

export function parseMonitorReport(value: unknown): MonitorReport {
  const data = obj(value);
  const state = obj(data.state);
  return {
    notebook: str(data.notebook),
    run: optStr(data.run),
    baseline: optStr(data.baseline),
    baseline_source: str(data.baseline_source),
    ok: bool(data.ok, true),
    checks: list(data.checks).map(parseMonitorCheck),
    state: {
      state: str(state.state, bool(data.ok, true) ? 'ok' : 'alert'),
      since: optStr(state.since),
      failing: list(state.failing).map(v => str(v))
    }
  };
}

export function parseMonitorList(value: unknown): MonitorReport[] {
  return list(obj(value).notebooks).map(parseMonitorReport);
}

export function parseCheckSeries(value: unknown): CheckSeries {
  const data = obj(value);
  const shown = data.distribution ? obj(data.distribution) : null;
  return {
    notebook: str(data.notebook),
    name: str(data.name),
    series: list(data.series).map(p => {
      const point = obj(p);
      return {
        run: str(point.run),
        created_at: optStr(point.created_at),
        baseline: optStr(point.baseline),
        statistic: num(point.statistic),
        threshold: num(point.threshold),
        ok: bool(point.ok, true)
      };
    }),
    distribution: shown
      ? {
          kind: str(shown.kind),
          edges: numbers(shown.edges),
          labels: list(shown.labels).map(v => str(v)),
          baseline: numbers(shown.baseline),
          current: numbers(shown.current)
        }
      : null
  };
}

export function parseAlerts(value: unknown): AlertEvent[] {
  return list(obj(value).alerts).map(a => {
    const data = obj(a);
    return {
      id: num(data.id) ?? 0,
      notebook: str(data.notebook),
      key: str(data.key),
      event: str(data.event),
      run: str(data.run),
      batch: optStr(data.batch),
      message: str(data.message),
      created_at: optStr(data.created_at)
    };
  });
}
