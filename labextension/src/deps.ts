/**
 * The Ship section's dependency notice: the third-party imports that
 * pyproject.toml does not declare (each with the notebook cell it came from
 * and the distribution that provides it) and an **Add dependencies** button
 * that writes them, as `nbprod deps --add` does. Quiet when all is declared.
 *
 * Its wire types and parser live here too, beside the one view that uses them.
 */
import { Notification } from '@jupyterlab/apputils';

import { notifyError } from './client';
import { button, fill, h } from './dom';

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

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Read `GET deps`'s reply. */
export function parseDepsReport(data: unknown): DepsReport {
  const d = record(data);
  const missing = (Array.isArray(d.missing) ? d.missing : []).map(item => {
    const m = record(item);
    const site = record(Array.isArray(m.sites) ? m.sites[0] : {});
    return {
      name: String(m.name ?? ''),
      distribution: textOrNull(m.distribution),
      requirement: textOrNull(m.requirement),
      scope: String(m.scope ?? 'runtime'),
      notebook: textOrNull(site.notebook),
      cell: typeof site.cell === 'number' ? site.cell : null,
      path: String(site.path ?? ''),
      line: typeof site.line === 'number' ? site.line : 0
    };
  });
  return {
    ok: d.ok === true,
    hasProject: d.has_project !== false,
    missing,
    unused: strings(d.unused),
    problems: strings(d.problems)
  };
}

/** Read `POST deps`'s reply. */
export function parseDepsAdded(data: unknown): DepsAdded {
  const d = record(data);
  return {
    added: strings(d.added),
    addedTests: strings(d.added_tests),
    createdProject: d.created_project === true,
    report: parseDepsReport(d.report)
  };
}

/** The two calls the notice makes (the client's `deps` and `addDeps`). */
export interface DepsApi {
  deps(): Promise<DepsReport>;
  addDeps(): Promise<DepsAdded>;
}

/** Where an import is, in the words the panel uses. */
function siteText(item: MissingDependency): string {
  const where = item.notebook ? `${item.notebook}${item.cell !== null ? `, cell ${item.cell}` : ''}` : `${item.path}:${item.line}`;
  return `imported in ${where}`;
}

export class DepsNotice {
  readonly node = h('div', { className: 'jp-nbprod-deps' });

  constructor(private api: DepsApi) {}

  /** Check again (after a save, an export, a gate). */
  async load(): Promise<void> {
    const seq = ++this.sequence;
    try {
      const report = await this.api.deps();
      if (seq === this.sequence) {
        this.render(report);
      }
    } catch {
      // a project the check cannot read: the gate's own step says why
      if (seq === this.sequence) {
        fill(this.node);
      }
    }
  }

  private async add(): Promise<void> {
    this.addButton.disabled = true;
    try {
      const added = await this.api.addDeps();
      const all = [...added.added, ...added.addedTests];
      Notification.success(
        all.length ? `Added to pyproject.toml: ${all.join(', ')}` : 'Nothing to add: every import is declared.',
        { autoClose: 5000 }
      );
      this.render(added.report);
    } catch (error) {
      notifyError('Adding the dependencies failed', error);
    } finally {
      this.addButton.disabled = false;
    }
  }

  private render(report: DepsReport): void {
    const addable = report.missing.filter(m => m.requirement);
    const unknown = report.missing.filter(m => !m.requirement);
    if (report.ok && !report.unused.length) {
      fill(this.node);
      return;
    }
    const title = !report.hasProject
      ? 'pyproject.toml has no [project] table: the package cannot be installed'
      : report.missing.length
        ? `${report.missing.length} import${report.missing.length === 1 ? ' is' : 's are'} not declared in pyproject.toml`
        : '';
    fill(
      this.node,
      title || report.problems.length
        ? h(
            'div',
            { className: 'jp-nbprod-note jp-nbprod-depsNote', 'data-ok': 'false' },
            title ? h('div', { className: 'jp-nbprod-depsTitle' }, title) : null,
            report.problems.map(p => h('div', {}, p)),
            report.missing.length
              ? h(
                  'ul',
                  { className: 'jp-nbprod-depsList' },
                  report.missing.map(item =>
                    h(
                      'li',
                      { 'data-distribution': item.distribution ?? '' },
                      h('code', {}, item.name),
                      item.distribution && item.distribution !== item.name ? ` (${item.distribution})` : '',
                      ` ${siteText(item)}`,
                      item.scope === 'test' ? ' (tests only: goes to the test group)' : '',
                      item.requirement ? null : ' — no installed package provides it'
                    )
                  )
                )
              : null,
            addable.length || !report.hasProject
              ? h(
                  'div',
                  { className: 'jp-nbprod-row' },
                  this.addButton,
                  h(
                    'span',
                    { className: 'jp-nbprod-hint' },
                    addable.length ? `adds ${addable.map(m => m.requirement).join(', ')}` : 'writes a minimal [project]'
                  )
                )
              : null,
            unknown.length ? h('div', { className: 'jp-nbprod-hint' }, 'Install the missing packages first, then add them.') : null
          )
        : null,
      report.unused.length
        ? h(
            'div',
            { className: 'jp-nbprod-hint jp-nbprod-depsUnused' },
            `Declared but not imported: ${report.unused.join(', ')}`
          )
        : null
    );
  }

  private sequence = 0;
  private addButton = button('Add dependencies', () => void this.add(), {
    accept: true,
    className: 'jp-nbprod-addDepsButton',
    title: 'Write the missing distributions into pyproject.toml, with the installed version as the lower bound'
  });
}
