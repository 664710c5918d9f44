/**
 * The run part of the production panel: a form from the notebook's
 * parameters cell, a Run button, the run's live status and its output.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { errorText, isErrorType, notifyError } from './client';
import { NbprodContext, NotebookSection, notebookPath, openFile } from './context';
import { badge, button, fill, h, poll, section, working } from './dom';
import { defaultText, floatNames, inputKind, readInput } from './form';
import { formatDuration, formatValue } from './format';
import { Parameter, RunRecord } from './wire';

/** Render a run's status line, its metrics or error, and the output link. */
export function renderRun(ctx: NbprodContext, run: RunRecord): HTMLElement {
  const finished = run.terminal;
  const metrics = Object.entries(run.metrics);
  return h(
    'div',
    { className: 'jp-nbprod-run', 'data-status': run.status, 'data-run-id': run.id },
    h(
      'div',
      { className: 'jp-nbprod-row' },
      badge(run.status),
      h('span', { className: 'jp-nbprod-runId' }, run.id),
      run.duration !== null ? h('span', { className: 'jp-nbprod-duration' }, formatDuration(run.duration)) : null
    ),
    metrics.length
      ? h(
          'dl',
          { className: 'jp-nbprod-metrics' },
          metrics.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, formatValue(value))])
        )
      : null,
    run.error
      ? h(
          'div',
          { className: 'jp-nbprod-runError' },
          `${run.error.ename}: ${run.error.evalue}`,
          run.error.cell !== null ? ` (cell ${run.error.cell + 1})` : ''
        )
      : null,
    finished && run.output_file
      ? h(
          'a',
          {
            className: 'jp-nbprod-openOutput',
            href: '#',
            title: run.output_file,
            onclick: (event: Event) => {
              event.preventDefault();
              openFile(ctx, run.output_file!);
            }
          },
          'Open output notebook'
        )
      : null
  );
}

export class RunSection extends Widget implements NotebookSection {
  constructor(private ctx: NbprodContext) {
    super();
    this.addClass('jp-nbprod-runPart');
    const { node, body } = section('Run', 'jp-nbprod-runSection');
    this.node.append(node);
    this.formNode = h('form', {
      className: 'jp-nbprod-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        void this.run();
      }
    });
    this.runButton = button('Run', () => void this.run(), {
      accept: true,
      title: 'Run the notebook with these parameters (papermill)',
      className: 'jp-nbprod-runButton'
    });
    this.statusNode = h('div', { className: 'jp-nbprod-runStatus' });
    body.append(this.formNode, h('div', { className: 'jp-nbprod-row' }, this.runButton), this.statusNode);
    this.renderForm();
  }

  dispose(): void {
    this.stopPoll?.();
    super.dispose();
  }

  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.panel) {
      return;
    }
    this.panel?.context.saveState.disconnect(this.onSaved, this);
    this.panel = panel;
    this.parameters = [];
    this.message = '';
    this.loading = !!panel;
    this.stopPoll?.();
    this.stopPoll = null;
    fill(this.statusNode);
    this.renderForm();
    if (panel) {
      panel.context.saveState.connect(this.onSaved, this);
      void panel.context.ready.then(() => this.load());
    }
  }

  /** The parameters the section shows (for the batch section too). */
  get currentParameters(): Parameter[] {
    return this.parameters;
  }

  private onSaved(_: unknown, state: string): void {
    if (state === 'completed') {
      void this.load();
    }
  }

  private async load(): Promise<void> {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    try {
      const parameters = await this.ctx.client.parameters(notebookPath(panel));
      if (panel !== this.panel) {
        return;
      }
      this.parameters = parameters;
      this.message = parameters.length
        ? ''
        : 'No parameters cell: tag a cell "parameters" to run with other values.';
    } catch (error) {
      if (panel !== this.panel) {
        return;
      }
      this.parameters = [];
      this.message = isErrorType(error, 'not_found') ? errorText(error) : `Cannot read the parameters: ${errorText(error)}`;
    }
    this.loading = false;
    this.renderForm();
    this.ctx.parametersChanged.emit({ panel, parameters: this.parameters });
  }

  private renderForm(): void {
    this.runButton.disabled = !this.panel || this.loading || this.starting;
    if (!this.panel) {
      fill(this.formNode, h('p', { className: 'jp-nbprod-empty' }, 'Open a notebook to run it.'));
      return;
    }
    if (this.loading) {
      fill(this.formNode, h('p', { className: 'jp-nbprod-loading' }, 'Reading the parameters cell…'));
      return;
    }
    fill(
      this.formNode,
      this.message ? h('p', { className: 'jp-nbprod-empty' }, this.message) : null,
      this.parameters.map(p => {
        const kind = inputKind(p.type);
        const id = `jp-nbprod-param-${p.name}`;
        const input =
          kind === 'bool'
            ? h('input', { type: 'checkbox', id, name: p.name, checked: Boolean(p.default), 'data-kind': kind })
            : h('input', {
                type: kind === 'int' || kind === 'float' ? 'number' : 'text',
                step: kind === 'int' ? '1' : kind === 'float' ? 'any' : undefined,
                id,
                name: p.name,
                value: defaultText(p),
                placeholder: p.literal ? undefined : p.default_source,
                className: 'jp-mod-styled jp-nbprod-input',
                'data-kind': kind,
                'data-default': defaultText(p)
              });
        return h(
          'div',
          { className: 'jp-nbprod-field' },
          h('label', { for: id, title: p.comment || p.name }, p.name, h('span', { className: 'jp-nbprod-type' }, p.type)),
          input,
          p.comment ? h('span', { className: 'jp-nbprod-comment' }, p.comment) : null
        );
      })
    );
  }

  /** The parameters that differ from the notebook's defaults, or an error. */
  private values(): { parameters?: Record<string, unknown>; error?: string } {
    const parameters: Record<string, unknown> = {};
    for (const p of this.parameters) {
      const input = this.formNode.querySelector<HTMLInputElement>(`[name="${CSS.escape(p.name)}"]`);
      if (!input) {
        continue;
      }
      const kind = inputKind(p.type);
      if (kind === 'bool') {
        if (input.checked !== Boolean(p.default)) {
          parameters[p.name] = input.checked;
        }
        continue;
      }
      if (input.value === defaultText(p) || (!p.literal && !input.value.trim())) {
        continue;
      }
      const read = readInput(kind, input.value);
      if (read.error) {
        return { error: `${p.name}: ${read.error}` };
      }
      parameters[p.name] = read.value;
    }
    return { parameters };
  }

  async run(): Promise<void> {
    const panel = this.panel;
    if (!panel) {
      return;
    }
    const values = this.values();
    if (values.error) {
      notifyError('Cannot run', new Error(values.error));
      return;
    }
    if (panel.context.model.dirty) {
      await panel.context.save();
    }
    this.stopPoll?.();
    this.runButton.disabled = true;
    fill(this.statusNode);
    const stop = working(this.statusNode, 'starting the run…');
    try {
      const run = await this.ctx.client.startRun(notebookPath(panel), values.parameters ?? {}, floatNames(this.parameters));
      stop();
      this.ctx.runsChanged.emit();
      this.display(run);
      this.stopPoll = poll(
        async () => {
          const current = await this.ctx.client.run(run.id);
          this.display(current);
          const done = current.terminal;
          if (done) {
            this.runButton.disabled = false;
            this.ctx.runsChanged.emit();
          }
          return done;
        },
        () => this.ctx.settings.pollInterval,
        error => {
          this.runButton.disabled = false;
          notifyError('Lost track of the run', error);
        }
      );
    } catch (error) {
      stop();
      this.runButton.disabled = false;
      fill(this.statusNode);
      notifyError('Run failed to start', error);
    }
  }

  private display(run: RunRecord): void {
    fill(this.statusNode, renderRun(this.ctx, run));
  }

  private panel: NotebookPanel | null = null;
  private parameters: Parameter[] = [];
  private message = '';
  private loading = false;
  private starting = false;
  private stopPoll: (() => void) | null = null;
  private formNode: HTMLFormElement;
  private runButton: HTMLButtonElement;
  private statusNode: HTMLElement;
}
