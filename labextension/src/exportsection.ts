/**
 * The export part of the production panel: the target module and test
 * file, the problems (click one to go to its cell), a live read-only preview
 * of the generated files, and the Export button.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { CodeEditor, CodeEditorWrapper } from '@jupyterlab/codeeditor';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { errorText, isErrorType, notifyError } from './client';
import { NbprodContext, NotebookSection, notebookPath } from './context';
import { button, clock, debounce, fill, h, pathNodes, section, working } from './dom';
import { cellsWithRole, exportSummary, formatLocation, planErrors, previewFiles } from './format';
import { pullEdits } from './syncdialog';
import { ExportResult, Plan, PlannedFile, Problem } from './wire';

export class ExportSection extends Widget implements NotebookSection {
  constructor(private ctx: NbprodContext) {
    super();
    this.addClass('jp-nbprod-export');
    const { node, body } = section('Export', 'jp-nbprod-exportSection');
    this.node.append(node);
    this.targetNode = h('div', { className: 'jp-nbprod-target' });
    this.problemsNode = h('ul', { className: 'jp-nbprod-problems' });
    this.tabsNode = h('div', { className: 'jp-nbprod-previewTabs', role: 'tablist' });
    this.previewStatus = h('div', { className: 'jp-nbprod-previewStatus' });
    this.resultNode = h('div', { className: 'jp-nbprod-exportResult' });
    this.exportButton = button('Export', () => void this.export(false), {
      accept: true,
      title: 'Write the module and tests of this notebook'
    });
    this.exportButton.classList.add('jp-nbprod-exportButton');
    this.reasonNode = h('div', { className: 'jp-nbprod-disabledReason' });

    this.model = new CodeEditor.Model({ mimeType: 'text/x-python' });
    this.editor = new CodeEditorWrapper({
      factory: ctx.editorServices.factoryService.newInlineEditor,
      model: this.model,
      editorOptions: { config: { readOnly: true, lineNumbers: true, lineWrap: true } }
    });
    this.editor.addClass('jp-nbprod-previewEditor');
    this.editorHost = h('div', { className: 'jp-nbprod-preview' });

    body.append(
      this.targetNode,
      this.problemsNode,
      h('div', { className: 'jp-nbprod-row' }, this.exportButton, this.resultNode),
      this.reasonNode,
      h('h4', { className: 'jp-nbprod-subTitle' }, 'Preview'),
      this.tabsNode,
      this.editorHost,
      this.previewStatus
    );
    this.refreshSoon = debounce(() => void this.refresh(true), () => ctx.settings.previewDelay);
    this.render();
  }

  /** Attach the preview editor once this widget is in the DOM. */
  protected onAfterAttach(): void {
    if (!this.editor.isAttached) {
      Widget.attach(this.editor, this.editorHost);
    }
    this.editor.update();
  }

  protected onBeforeDetach(): void {
    if (this.editor.isAttached) {
      Widget.detach(this.editor);
    }
  }

  dispose(): void {
    this.refreshSoon.cancel();
    this.editor.dispose();
    this.model.dispose();
    super.dispose();
  }

  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.panel) {
      return;
    }
    this.disconnect();
    this.panel = panel;
    this.plan = null;
    this.planError = '';
    this.loaded = false;
    this.result = null;
    this.refused = null;
    this.render();
    if (!panel) {
      return;
    }
    panel.context.ready
      .then(() => {
        if (this.panel !== panel) {
          return;
        }
        panel.context.model.contentChanged.connect(this.onContentChanged, this);
        panel.context.saveState.connect(this.onSaveState, this);
        void this.refresh(false);
      })
      .catch(() => undefined);
  }

  /** Plan again: `unsaved` POSTs the editor's content instead of the saved file. */
  async refresh(unsaved: boolean): Promise<void> {
    const panel = this.panel;
    if (!panel || panel.isDisposed) {
      return;
    }
    const seq = ++this.sequence;
    this.previewStatus.textContent = 'updating…';
    const path = notebookPath(panel);
    try {
      const plan =
        unsaved && panel.context.model.dirty
          ? await this.ctx.client.planContent(path, withoutOutputs(panel.context.model.toJSON()))
          : await this.ctx.client.plan(path);
      if (seq !== this.sequence || this.panel !== panel) {
        return;
      }
      this.plan = plan;
      this.planError = '';
      this.loaded = true;
      this.previewStatus.textContent = `${panel.context.model.dirty ? 'unsaved changes' : 'saved notebook'} · updated ${clock()}`;
      this.ctx.planChanged.emit({ panel, plan });
    } catch (error) {
      if (seq !== this.sequence || this.panel !== panel) {
        return;
      }
      this.plan = null;
      this.loaded = true;
      this.planError = errorText(error);
      this.previewStatus.textContent = 'no preview';
      this.ctx.planChanged.emit({ panel, plan: null });
      // say it once, not after every keystroke while the problem lasts
      const text = errorText(error);
      if (text !== this.lastError) {
        this.lastError = text;
        notifyError('nbprod could not plan the export', error);
      }
      this.render();
      return;
    }
    this.lastError = '';
    this.render();
  }

  /** Export the notebook; `force` overwrites files edited by hand. */
  async export(force: boolean): Promise<void> {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    const blocked = this.blockedReason();
    if (blocked) {
      // the command palette and export-on-save reach here too: say why, never a success
      Notification.warning(`Not exported: ${blocked}`, { autoClose: 6000 });
      return;
    }
    if (panel.context.model.dirty) {
      await panel.context.save();
    }
    this.busy = true;
    this.render();
    const stop = working(this.resultNode, 'exporting…');
    try {
      const result = await this.ctx.client.exportNotebook(notebookPath(panel), force);
      this.result = result;
      this.refused = null;
      const summary = exportSummary(result);
      const written = result.files.some(f => f.status !== 'unchanged');
      if (!result.ok || result.errors.length) {
        notifyError('Export failed', new Error(result.errors.map(e => e.message).join('; ') || 'the export reported errors'));
      } else if (!result.files.length) {
        Notification.warning(`Nothing exported from ${panel.context.path}: no cell is tagged export or test`, { autoClose: 6000 });
      } else if (written) {
        Notification.success(`Exported ${panel.context.path}: ${summary}`, { autoClose: 4000 });
      } else {
        Notification.info(`${panel.context.path}: the generated files are up to date (${summary})`, { autoClose: 4000 });
      }
      if (written) {
        this.ctx.exported.emit();
      }
      await this.ctx.fileBrowser?.model.refresh();
    } catch (error) {
      this.result = null;
      // decided on the error's machine type, never on the HTTP status
      if (isErrorType(error, 'hand_edited')) {
        this.refused = { message: error.body.message, hint: UI_HINTS.hand_edited, files: error.body.files };
      } else {
        this.refused = null;
        notifyError('Export failed', error);
      }
    } finally {
      stop();
      this.busy = false;
    }
    this.render();
    void this.refresh(false);
  }

  /** Pull the hand edits into the notebook (it reloads from disk), then plan again. */
  private async pull(): Promise<void> {
    const panel = this.panel;
    if (!panel || this.busy) {
      return;
    }
    this.busy = true;
    this.render();
    let outcome = '';
    try {
      outcome = await pullEdits(this.ctx, panel);
    } finally {
      this.busy = false;
    }
    if (outcome === 'pulled' || outcome === 'nothing') {
      this.refused = null;
    }
    this.render();
    void this.refresh(false);
    await this.ctx.fileBrowser?.model.refresh();
  }

  private async confirmForce(): Promise<void> {
    const files = this.refused?.files ?? [];
    const result = await showDialog({
      title: 'Overwrite files edited by hand?',
      body: `Force export replaces ${files.length ? files.join(', ') : 'the generated files'} with the code of the notebook. The edits made to them by hand are lost.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Force Export' })]
    });
    if (result.button.accept) {
      await this.export(true);
    }
  }

  private onContentChanged(): void {
    this.refreshSoon();
  }

  private onSaveState(_: unknown, state: string): void {
    if (state !== 'completed') {
      return;
    }
    this.refreshSoon.cancel();
    if (this.ctx.settings.exportOnSave && !this.exporting) {
      // plan the saved notebook first: export refuses while it has errors
      this.exporting = true;
      void this.refresh(false)
        .then(() => this.export(false))
        .finally(() => (this.exporting = false));
    } else {
      void this.refresh(false);
    }
  }

  /** Why Export cannot be pressed now, or `''`. */
  private blockedReason(): string {
    if (!this.panel) {
      return 'no notebook is open';
    }
    if (!this.loaded) {
      return 'the export plan is still loading';
    }
    if (this.planError) {
      return this.planError;
    }
    const errors = planErrors(this.plan);
    if (errors) {
      return `the plan has ${errors} error${errors === 1 ? '' : 's'}: fix ${errors === 1 ? 'it' : 'them'} first (click one to go to its cell)`;
    }
    return '';
  }

  private disconnect(): void {
    this.refreshSoon.cancel();
    const panel = this.panel;
    if (panel && !panel.isDisposed) {
      panel.context.model.contentChanged.disconnect(this.onContentChanged, this);
      panel.context.saveState.disconnect(this.onSaveState, this);
    }
  }

  private render(): void {
    const plan = this.plan;
    const blocked = this.blockedReason();
    this.exportButton.disabled = this.busy || !!blocked;
    this.exportButton.title = blocked ? `Export is disabled: ${blocked}` : 'Write the module and tests of this notebook';
    fill(this.reasonNode, blocked && this.loaded && this.panel ? blocked : '');
    if (!this.panel) {
      fill(this.targetNode, h('p', { className: 'jp-nbprod-empty' }, 'Open a notebook to see what it exports.'));
      fill(this.problemsNode);
      fill(this.tabsNode);
      this.model.sharedModel.setSource('');
      fill(this.resultNode);
      return;
    }
    const files = plan ? previewFiles(plan) : [];
    const module = files.find(f => f.kind === 'module');
    const tests = files.find(f => f.kind === 'tests');
    const loading = !this.loaded;
    // the count comes from the plan's cells, so it is right with errors too
    const testCells = plan ? cellsWithRole(plan, 'test') : 0;
    const testText = loading
      ? 'loading…'
      : !plan
        ? 'unknown: the notebook cannot be planned'
        : tests
          ? tests.path
          : testCells
            ? `${testCells} test cell${testCells === 1 ? '' : 's'} (written once the errors are fixed)`
            : 'no test cells';
    fill(
      this.targetNode,
      h(
        'dl',
        { className: 'jp-nbprod-targetList' },
        h('dt', {}, 'Module'),
        h(
          'dd',
          { className: 'jp-nbprod-module' },
          plan?.module || (loading ? 'loading…' : '—'),
          module ? h('div', { className: 'jp-nbprod-path' }, pathNodes(module.path)) : null
        ),
        h('dt', {}, 'Tests'),
        h(
          'dd',
          { className: 'jp-nbprod-tests', 'data-test-cells': String(testCells), title: `${testCells} test cell${testCells === 1 ? '' : 's'}` },
          tests ? pathNodes(testText) : testText
        )
      )
    );
    this.renderProblems(plan);
    this.renderPreview(files);
    this.renderResult();
  }

  private renderProblems(plan: Plan | null): void {
    if (!plan) {
      fill(
        this.problemsNode,
        this.planError
          ? h('li', { className: 'jp-nbprod-problem', 'data-severity': 'error' }, h('span', { className: 'jp-nbprod-severity' }, 'error'), h('span', { className: 'jp-nbprod-problemMessage' }, this.planError))
          : !this.loaded
            ? h('li', { className: 'jp-nbprod-loading' }, 'Planning the export…')
            : null
      );
      return;
    }
    if (!plan.problems.length) {
      fill(this.problemsNode, h('li', { className: 'jp-nbprod-noProblems' }, 'No problems: ready to export.'));
      return;
    }
    fill(
      this.problemsNode,
      plan.problems.map(problem =>
        h(
          'li',
          {
            className: 'jp-nbprod-problem',
            'data-severity': problem.severity,
            title: 'Go to the cell',
            tabIndex: 0,
            onclick: () => void this.goToProblem(problem),
            onkeydown: (event: KeyboardEvent) => {
              if (event.key === 'Enter') {
                void this.goToProblem(problem);
              }
            }
          },
          h('span', { className: 'jp-nbprod-severity' }, problem.severity),
          h('span', { className: 'jp-nbprod-problemMessage' }, problem.message),
          formatLocation(problem.location)
            ? h('span', { className: 'jp-nbprod-problemWhere' }, locationLabel(problem))
            : null,
          problem.hint ? h('span', { className: 'jp-nbprod-hint' }, problem.hint) : null
        )
      )
    );
  }

  private renderPreview(files: PlannedFile[]): void {
    if (!files.length) {
      fill(
        this.tabsNode,
        h(
          'span',
          { className: 'jp-nbprod-empty' },
          this.plan && this.plan.problems.some(p => p.severity === 'error')
            ? 'Fix the errors to see the generated code.'
            : this.plan
              ? 'No cell is tagged export or test yet.'
              : ''
        )
      );
      this.model.sharedModel.setSource('');
      return;
    }
    if (!files.some(f => f.path === this.selected)) {
      this.selected = files[0].path;
    }
    fill(
      this.tabsNode,
      files.map(file =>
        h(
          'button',
          {
            type: 'button',
            role: 'tab',
            className: `jp-nbprod-previewTab${file.path === this.selected ? ' jp-mod-current' : ''}`,
            'data-kind': file.kind,
            'aria-selected': String(file.path === this.selected),
            title: file.path,
            onclick: () => {
              this.selected = file.path;
              this.render();
            }
          },
          file.path.split('/').pop() ?? file.path
        )
      )
    );
    const file = files.find(f => f.path === this.selected)!;
    if (this.model.sharedModel.getSource() !== file.content) {
      this.model.sharedModel.setSource(file.content);
    }
    this.editorHost.dataset.path = file.path;
  }

  private renderResult(): void {
    if (this.refused) {
      const refused = this.refused;
      fill(
        this.resultNode,
        h(
          'div',
          { className: 'jp-nbprod-refused' },
          h('strong', {}, 'Refused: '),
          refused.message,
          refused.files.length ? h('ul', {}, refused.files.map(f => h('li', {}, f))) : null,
          refused.hint ? h('div', { className: 'jp-nbprod-hint' }, refused.hint) : null,
          button('Pull edits into notebook', () => void this.pull(), {
            accept: true,
            className: 'jp-nbprod-pullButton',
            title: 'Bring the hand edits of the generated files back into the cells they came from'
          }),
          button('Force Export…', () => void this.confirmForce(), {
            warn: true,
            className: 'jp-nbprod-forceButton',
            title: 'Overwrite the files edited by hand'
          })
        )
      );
      return;
    }
    const result: ExportResult | null = this.result;
    if (!result) {
      fill(this.resultNode);
      return;
    }
    fill(
      this.resultNode,
      h(
        'ul',
        { className: 'jp-nbprod-exported' },
        result.files.map(f =>
          h('li', { 'data-status': f.status }, h('span', { className: 'jp-nbprod-fileStatus' }, f.status), ' ', pathNodes(f.path))
        )
      )
    );
  }

  /** Scroll to the problem's cell and select it. */
  private async goToProblem(problem: Problem): Promise<void> {
    const panel = this.panel;
    const location = problem.location;
    if (!panel || !location) {
      return;
    }
    const notebook = panel.content;
    let index = location.cell_id ? notebook.widgets.findIndex(c => c.model.id === location.cell_id) : -1;
    if (index < 0 && location.cell !== null) {
      index = location.cell;
    }
    if (index < 0 || index >= notebook.widgets.length) {
      return;
    }
    this.ctx.app.shell.activateById(panel.id);
    notebook.mode = 'command';
    notebook.deselectAll();
    notebook.activeCellIndex = index;
    await notebook.scrollToCell(notebook.widgets[index], 'center');
    notebook.activeCell?.node.focus();
  }

  readonly editor: CodeEditorWrapper;
  private model: CodeEditor.Model;
  private panel: NotebookPanel | null = null;
  private plan: Plan | null = null;
  private result: ExportResult | null = null;
  private refused: { message: string; hint: string | null; files: string[] } | null = null;
  private selected = '';
  private sequence = 0;
  private lastError = '';
  private exporting = false;
  private busy = false;
  private loaded = false;
  private planError = '';
  private reasonNode: HTMLElement;
  private refreshSoon: ReturnType<typeof debounce>;
  private targetNode: HTMLElement;
  private problemsNode: HTMLElement;
  private tabsNode: HTMLElement;
  private editorHost: HTMLElement;
  private previewStatus: HTMLElement;
  private resultNode: HTMLElement;
  private exportButton: HTMLButtonElement;
}

/** Hints in the words of this UI (the server's name the CLI's flags). */
const UI_HINTS = {
  hand_edited: 'pull the edits into the notebook with Pull edits into notebook, or overwrite them with Force Export'
};

/** The notebook without outputs: the plan never reads them, and images are big. */
function withoutOutputs(notebook: unknown): unknown {
  const data = notebook as { cells?: Record<string, unknown>[] };
  return {
    ...data,
    cells: (data.cells ?? []).map(cell => (cell.cell_type === 'code' ? { ...cell, outputs: [] } : cell))
  };
}

/** `cell 5, line 2` (cells counted from 1, as in the notebook's status bar). */
function locationLabel(problem: Problem): string {
  return formatLocation({ ...problem.location!, path: null });
}
