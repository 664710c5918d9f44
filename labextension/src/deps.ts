/**
 * The Ship section's dependency notice: the third-party imports that
 * pyproject.toml does not declare (each with the notebook cell it came from
 * and the distribution that provides it) and an **Add dependencies** button
 * that writes them, as `nbprod deps --add` does. Quiet when all is declared.
 *
 * Its wire types and parser are in depswire.ts (no DOM: jest reads them).
 */
import { Notification } from '@jupyterlab/apputils';

import { notifyError } from './client';
import { button, fill, h } from './dom';
import { DepsAdded, DepsReport, MissingDependency } from './depswire';

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
