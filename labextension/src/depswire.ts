/**
 * The JSON of `GET deps` and `POST deps` (the same as `nbprod deps --json`),
 * reduced to what the Ship section's notice shows, and its lenient parser (on
 * parse.ts's readers). No DOM, so jest reads it.
 */
import { bool, list, num, obj, optStr, str, strings } from './parse';

/** One undeclared import (`GET deps` → `missing[]`). */
export interface MissingDependency {
  name: string;
  distribution: string | null;
  requirement: string | null;
  scope: string;
  notebook: string | null;
  cell: number | null;
  path: string;
  line: number;
}

/** The dependency check (`GET deps`), reduced to what the notice shows. */
export interface DepsReport {
  ok: boolean;
  hasProject: boolean;
  missing: MissingDependency[];
  unused: string[];
  problems: string[];
}

/** What `POST deps` added. */
export interface DepsAdded {
  added: string[];
  addedTests: string[];
  createdProject: boolean;
  report: DepsReport;
}

/** Read `GET deps`'s reply. */
export function parseDepsReport(data: unknown): DepsReport {
  const d = obj(data);
  const missing = list(d.missing).map(item => {
    const m = obj(item);
    // the first place it is imported (the notice names one)
    const site = obj(list(m.sites)[0]);
    return {
      name: str(m.name),
      distribution: optStr(m.distribution),
      requirement: optStr(m.requirement),
      scope: str(m.scope, 'runtime'),
      notebook: optStr(site.notebook),
      cell: num(site.cell),
      path: str(site.path),
      line: num(site.line) ?? 0
    };
  });
  return {
    ok: d.ok === true,
    hasProject: bool(d.has_project, true),
    missing,
    unused: strings(d.unused),
    problems: strings(d.problems)
  };
}

/** Read `POST deps`'s reply. */
export function parseDepsAdded(data: unknown): DepsAdded {
  const d = obj(data);
  return {
    added: strings(d.added),
    addedTests: strings(d.added_tests),
    createdProject: d.created_project === true,
    report: parseDepsReport(d.report)
  };
}
