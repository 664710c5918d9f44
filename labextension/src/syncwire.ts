/**
 * The JSON of `POST notebooks/<path>/sync` (the same as `nbprod sync --json`),
 * as the UI reads it, and its lenient parser (on parse.ts's readers).
 */
import { list, num, obj, optStr, str, strings } from './parse';

/** A cell a sync writes (or, with `check`, would write). */
export interface SyncChange {
  index: number;
  cell_id: string | null;
  /** `update`, `insert` (a new cell holding added imports) or `untag`. */
  action: string;
  first_line: string;
  diff: string;
  source: string;
  file: string;
  line: number | null;
}

/** A cell changed on both sides since the last export. */
export interface SyncConflict {
  index: number;
  cell_id: string | null;
  first_line: string;
  file: string;
  line: number;
  module_diff: string;
  notebook_diff: string;
}

/** The sync of one notebook. */
export interface NotebookSync {
  notebook: string;
  /** `unchanged`, `synced`, `pending` (check), `conflict` or `refused`. */
  status: string;
  changes: SyncChange[];
  conflicts: SyncConflict[];
  notes: string[];
  /** The error that refused it: its machine type and message, or null. */
  error: { type: string; message: string; hint: string | null } | null;
}

export interface SyncResult {
  ok: boolean;
  check: boolean;
  notebooks: NotebookSync[];
}

/** Read a sync reply (also the body of its 409 and 422 answers). */
export function parseSync(value: unknown): SyncResult {
  const data = obj(value);
  const notebooks = list(data.notebooks).map(item => {
    const nb = obj(item);
    const error = nb.error ? obj(nb.error) : null;
    return {
      notebook: str(nb.notebook),
      status: str(nb.status) || 'unchanged',
      changes: list(nb.changes).map(c => {
        const change = obj(c);
        return {
          index: num(change.index) ?? 0,
          cell_id: optStr(change.cell_id),
          action: str(change.action) || 'update',
          first_line: str(change.first_line),
          diff: str(change.diff),
          source: str(change.source),
          file: str(change.file),
          line: num(change.line)
        };
      }),
      conflicts: list(nb.conflicts).map(c => {
        const conflict = obj(c);
        return {
          index: num(conflict.index) ?? 0,
          cell_id: optStr(conflict.cell_id),
          first_line: str(conflict.first_line),
          file: str(conflict.file),
          line: num(conflict.line) ?? 0,
          module_diff: str(conflict.module_diff),
          notebook_diff: str(conflict.notebook_diff)
        };
      }),
      notes: strings(nb.notes).filter(Boolean),
      error: error ? { type: str(error.type), message: str(error.message), hint: optStr(error.hint) } : null
    };
  });
  return {
    ok: typeof data.ok === 'boolean' ? data.ok : notebooks.every(nb => !nb.error),
    check: data.check === true,
    notebooks
  };
}
