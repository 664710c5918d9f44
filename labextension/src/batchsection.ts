/**
 * The batch part of the production panel: a grid editor (values per
 * parameter, or YAML), the number of runs, a live progress bar, a results
 * table and Cancel.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { BatchRequest, errorText, notifyError } from './client';
import { batchJobs, NbprodContext, NotebookSection, notebookPath, openFile } from './context';
import { badge, button, fill, h, poll, section, working } from './dom';
import { defaultText, floatNames, parameterText, valuesError } from './form';
import { batchProgress, formatDuration, formatValue, metricNames } from './format';
import { expandGrid, Grid, GridError, parseGridYaml, parseValueList, RunsGrid } from './grid';
import { BatchReply, Parameter } from './wire';

type Mode = 'grid' | 'yaml';

export class BatchSection extends Widget implements NotebookSection {
  constructor(private ctx: NbprodContext) {
    super();
    this.addClass('jp-nbprod-batchPart');
    const { node, body } = section('Batch', 'jp-nbprod-batchSection');
    this.node.append(node);
    this.modeNode = h('div', { className: 'jp-nbprod-modes', role: 'tablist' });
    this.editorNode = h('div', { className: 'jp-nbprod-gridEditor' });
    this.jobsInput = h('input', {
      type: 'number',
      min: '1',
      step: '1',
      value: String(batchJobs(ctx)),
      className: 'jp-mod-styled jp-nbprod-input jp-nbprod-jobs',
      id: 'jp-nbprod-jobs',
      oninput: () => (this.jobsTouched = true)
    });
    this.countNode = h('span', { className: 'jp-nbprod-count' });
    this.startButton = button('Run Batch', () => void this.start(), {
      accept: true,
      className: 'jp-nbprod-batchButton',
      title: 'Run the notebook once per parameter set'
    });
    this.cancelButton = button('Cancel', () => void this.cancel(), {
      warn: true,
      className: 'jp-nbprod-cancelButton',
      title: 'Cancel the runs that have not finished'
    });
    this.cancelButton.hidden = true;
    this.progressNode = h('div', { className: 'jp-nbprod-batchProgress' });
    this.resultsNode = h('div', { className: 'jp-nbprod-batchResults' });
    body.append(
      this.modeNode,
      this.editorNode,
      h(
        'div',
        { className: 'jp-nbprod-row' },
        h('label', { for: 'jp-nbprod-jobs' }, 'Parallel jobs'),
        this.jobsInput,
        this.countNode
      ),
      h('div', { className: 'jp-nbprod-row' }, this.startButton, this.cancelButton),
      this.progressNode,
      this.resultsNode
    );
    ctx.parametersChanged.connect(this.onParameters, this);
    ctx.infoChanged.connect(this.onInfo, this);
    this.render();
  }

  dispose(): void {
    this.stopPoll?.();
    this.ctx.parametersChanged.disconnect(this.onParameters, this);
    this.ctx.infoChanged.disconnect(this.onInfo, this);
    super.dispose();
  }

  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.panel) {
      return;
    }
    this.panel = panel;
    if (!this.jobsTouched) {
      // the settings (or the server's default) may have arrived since the panel was made
      this.jobsInput.value = String(batchJobs(this.ctx));
    }
    // another notebook: a fresh form, and not the last notebook's batch
    this.stopPoll?.();
    this.stopPoll = null;
    this.running = false;
    this.current = null;
    this.cancelButton.hidden = true;
    fill(this.progressNode);
    fill(this.resultsNode);
    this.parameters = [];
    this.rows = {};
    this.yaml = '';
    this.loading = !!panel;
    this.render();
  }

  private onInfo(): void {
    if (!this.jobsTouched) {
      this.jobsInput.value = String(batchJobs(this.ctx));
    }
  }

  private onParameters(_: unknown, change: { panel: NotebookPanel | null; parameters: Parameter[] }): void {
    if (change.panel !== this.panel) {
      return;
    }
    this.loading = false;
    this.setParameters(change.parameters);
  }

  /** The notebook's parameters changed: rebuild the grid rows. */
  private setParameters(parameters: Parameter[]): void {
    const names = parameters.map(p => p.name).join('\0');
    if (names === this.parameters.map(p => p.name).join('\0') && this.parameters.length) {
      this.parameters = parameters;
      this.render();
      return;
    }
    this.parameters = parameters;
    this.rows = Object.fromEntries(parameters.map(p => [p.name, '']));
    this.yaml = '';
    this.render();
  }

  private render(): void {
    fill(
      this.modeNode,
      (['grid', 'yaml'] as Mode[]).map(mode =>
        h(
          'button',
          {
            type: 'button',
            role: 'tab',
            className: `jp-nbprod-modeTab${mode === this.mode ? ' jp-mod-current' : ''}`,
            'aria-selected': String(mode === this.mode),
            onclick: () => this.setMode(mode)
          },
          mode === 'grid' ? 'Values' : 'YAML'
        )
      )
    );
    if (this.mode === 'grid') {
      fill(
        this.editorNode,
        this.parameters.length
          ? h(
              'table',
              { className: 'jp-nbprod-gridTable' },
              h('thead', {}, h('tr', {}, h('th', {}, 'parameter'), h('th', {}, 'values (comma-separated)'))),
              h(
                'tbody',
                {},
                this.parameters.map(p =>
                  h(
                    'tr',
                    {},
                    h('td', {}, p.name, p.type ? h('span', { className: 'jp-nbprod-type' }, ` ${p.type}`) : null),
                    h(
                      'td',
                      {},
                      h('input', {
                        type: 'text',
                        'aria-label': `values of ${p.name}`,
                        className: 'jp-mod-styled jp-nbprod-input jp-nbprod-gridValues',
                        name: p.name,
                        placeholder: `default: ${defaultText(p)}`,
                        value: this.rows[p.name] ?? '',
                        oninput: (event: Event) => {
                          this.rows[p.name] = (event.target as HTMLInputElement).value;
                          this.updateCount();
                        }
                      }),
                      h('span', { className: 'jp-nbprod-fieldError', role: 'alert', hidden: true })
                    )
                  )
                )
              )
            )
          : this.loading
            ? h('p', { className: 'jp-nbprod-loading' }, 'Reading the parameters cell…')
            : this.panel
              ? h('p', { className: 'jp-nbprod-empty' }, 'The notebook has no parameters: use YAML with a runs list, or tag a parameters cell.')
              : h('p', { className: 'jp-nbprod-empty' }, 'Open a notebook to run a batch of it.')
      );
    } else {
      fill(
        this.editorNode,
        h('textarea', {
          className: 'jp-mod-styled jp-nbprod-yaml',
          rows: 6,
          spellcheck: false,
          placeholder: 'n_rows: [600]\nC: [0.1, 1.0]\nseed: [0, 1]',
          value: this.yaml,
          oninput: (event: Event) => {
            this.yaml = (event.target as HTMLTextAreaElement).value;
            this.updateCount();
          }
        })
      );
    }
    this.updateCount();
  }

  private setMode(mode: Mode): void {
    if (mode === this.mode) {
      return;
    }
    if (mode === 'yaml' && !this.yaml.trim()) {
      // carry the typed values over to the YAML text
      this.yaml = Object.entries(this.rows)
        .filter(([, text]) => text.trim())
        .map(([name, text]) => `${name}: [${text.trim().replace(/^\[|\]$/g, '')}]`)
        .join('\n');
    }
    this.mode = mode;
    this.render();
  }

  /**
   * The grid as the server wants it, or an error message; each field's own
   * error (a value that does not fit its parameter) in `fieldErrors`.
   */
  private grid(): { grid?: Grid | RunsGrid; count?: number; error?: string } {
    this.fieldErrors = {};
    const byName = new Map(this.parameters.map(p => [p.name, p]));
    try {
      if (this.mode === 'grid') {
        const grid: Grid = {};
        for (const [name, text] of Object.entries(this.rows)) {
          let values: unknown[];
          try {
            values = parseValueList(text);
          } catch (error) {
            this.fieldErrors[name] = (error as Error).message;
            continue;
          }
          const parameter = byName.get(name);
          const wrong = parameter ? valuesError(parameter, values) : '';
          if (wrong) {
            this.fieldErrors[name] = wrong;
          } else if (values.length) {
            grid[name] = values;
          }
        }
        const names = Object.keys(this.fieldErrors);
        if (names.length) {
          return { error: `fix ${names.join(', ')}` };
        }
        return { grid, count: expandGrid(grid).length };
      }
      const grid = parseGridYaml(this.yaml);
      const sets = expandGrid(grid);
      for (const set of sets) {
        for (const [name, value] of Object.entries(set)) {
          const parameter = byName.get(name);
          const wrong = parameter ? valuesError(parameter, [value]) : '';
          if (wrong) {
            return { error: wrong };
          }
        }
      }
      return { grid, count: sets.length };
    } catch (error) {
      if (error instanceof GridError) {
        return { error: error.message };
      }
      throw error;
    }
  }

  private updateCount(): void {
    const { count, error } = this.grid();
    const empty = this.mode === 'grid' ? !Object.values(this.rows).some(t => t.trim()) : !this.yaml.trim();
    // each field says what is wrong with it, as it is typed
    for (const input of this.editorNode.querySelectorAll<HTMLInputElement>('input.jp-nbprod-gridValues')) {
      const message = this.fieldErrors[input.name] ?? '';
      input.classList.toggle('jp-mod-invalid', !!message);
      input.setAttribute('aria-invalid', String(!!message));
      const note = input.parentElement?.querySelector<HTMLElement>('.jp-nbprod-fieldError');
      if (note) {
        note.textContent = message;
        note.hidden = !message;
      }
    }
    this.editorNode.querySelector('textarea')?.classList.toggle('jp-mod-invalid', !!error && !empty);
    this.countNode.classList.toggle('jp-mod-error', !!error && !empty);
    // the run count only when the grid is valid
    this.countNode.textContent = empty
      ? 'type values to vary'
      : error
        ? error
        : `${count} run${count === 1 ? '' : 's'}`;
    this.countNode.dataset.valid = String(!error && !empty);
    const blocked = !this.panel || !!error || this.running || this.loading;
    this.startButton.disabled = blocked;
    this.startButton.title = !this.panel
      ? 'Open a notebook first'
      : error
        ? `Fix the values first: ${error}`
        : this.running
          ? 'A batch is running'
          : 'Run the notebook once per parameter set';
  }

  private async start(): Promise<void> {
    const panel = this.panel;
    const { grid, error } = this.grid();
    if (!panel || !grid) {
      if (error) {
        notifyError('Cannot start the batch', new Error(error));
      }
      return;
    }
    if (panel.context.model.dirty) {
      await panel.context.save();
    }
    const jobs = Math.max(1, parseInt(this.jobsInput.value, 10) || 1);
    const body: BatchRequest = { notebook: notebookPath(panel), jobs };
    if ('runs' in grid) {
      body.runs = (grid as RunsGrid).runs;
    } else {
      body.grid = grid as Grid;
    }
    this.stopPoll?.();
    this.running = true;
    this.updateCount();
    fill(this.resultsNode);
    fill(this.progressNode);
    const stop = working(this.progressNode, 'starting the batch…');
    try {
      const reply = await this.ctx.client.startBatch(body, floatNames(this.parameters));
      stop();
      this.ctx.runsChanged.emit();
      this.display(reply);
      const id = reply.batch.id;
      this.cancelButton.hidden = false;
      this.stopPoll = poll(
        async () => {
          const current = await this.ctx.client.batch(id);
          this.display(current);
          const done = batchProgress(current.batch).finished;
          if (done) {
            this.finish();
          }
          return done;
        },
        () => this.ctx.settings.pollInterval,
        err => {
          this.finish();
          notifyError('Lost track of the batch', err);
        }
      );
    } catch (err) {
      stop();
      this.running = false;
      this.updateCount();
      // said where the user looks, wrapped, not only in a toast that cuts it off
      fill(this.progressNode, h('div', { className: 'jp-nbprod-runError jp-nbprod-batchError' }, `The batch did not start: ${errorText(err)}`));
      notifyError('Batch failed to start', err);
    }
  }

  private finish(): void {
    this.running = false;
    this.cancelButton.hidden = true;
    this.updateCount();
    this.ctx.runsChanged.emit();
  }

  private async cancel(): Promise<void> {
    const id = this.current?.batch.id;
    if (!id) {
      return;
    }
    try {
      await this.ctx.client.cancelBatch(id);
    } catch (error) {
      notifyError('Cannot cancel the batch', error);
    }
  }

  private display(reply: BatchReply): void {
    this.current = reply;
    const progress = batchProgress(reply.batch);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    fill(
      this.progressNode,
      h(
        'div',
        {
          className: 'jp-nbprod-progress',
          role: 'progressbar',
          'aria-valuemin': '0',
          'aria-valuemax': String(reply.batch.total),
          'aria-valuenow': String(reply.batch.counts.succeeded + reply.batch.counts.failed + reply.batch.counts.cancelled),
          'data-finished': String(progress.finished)
        },
        h('div', { className: 'jp-nbprod-progressDone', style: `width: ${pct(progress.done)}` }),
        h('div', { className: 'jp-nbprod-progressFailed', style: `width: ${pct(progress.failed)}` }),
        h('div', { className: 'jp-nbprod-progressRunning', style: `width: ${pct(progress.running)}` })
      ),
      h(
        'div',
        { className: 'jp-nbprod-row jp-nbprod-progressLabel' },
        badge(reply.batch.status),
        h('span', { className: 'jp-nbprod-progressText' }, progress.label)
      )
    );
    const names = this.parameters.length
      ? this.parameters.map(p => p.name).filter(n => reply.runs.some(r => n in r.parameters))
      : [...new Set(reply.runs.flatMap(r => Object.keys(r.parameters)))];
    const metrics = metricNames(reply.runs);
    const types = new Map(this.parameters.map(p => [p.name, p.type]));
    fill(
      this.resultsNode,
      reply.runs.length
        ? h(
            'table',
            { className: 'jp-nbprod-table jp-nbprod-batchTable' },
            h(
              'thead',
              {},
              h('tr', {}, names.map(n => h('th', {}, n)), h('th', {}, 'status'), h('th', {}, 'time'), metrics.map(m => h('th', {}, m)))
            ),
            h(
              'tbody',
              {},
              reply.runs.map(run =>
                h(
                  'tr',
                  { 'data-status': run.status },
                  names.map(n => h('td', {}, n in run.parameters ? parameterText(run.parameters[n], types.get(n)) : '')),
                  h(
                    'td',
                    {},
                    run.terminal && run.output_file
                      ? h(
                          'a',
                          {
                            href: '#',
                            title: `Open ${run.output_file}`,
                            onclick: (event: Event) => {
                              event.preventDefault();
                              openFile(this.ctx, run.output_file!);
                            }
                          },
                          badge(run.status)
                        )
                      : badge(run.status)
                  ),
                  h('td', {}, formatDuration(run.duration)),
                  metrics.map(m => h('td', {}, m in run.metrics ? formatValue(run.metrics[m]) : ''))
                )
              )
            )
          )
        : null
    );
  }

  private panel: NotebookPanel | null = null;
  private parameters: Parameter[] = [];
  private rows: Record<string, string> = {};
  private yaml = '';
  private mode: Mode = 'grid';
  private running = false;
  private loading = false;
  private fieldErrors: Record<string, string> = {};
  private jobsTouched = false;
  private current: BatchReply | null = null;
  private stopPoll: (() => void) | null = null;
  private modeNode: HTMLElement;
  private editorNode: HTMLElement;
  private jobsInput: HTMLInputElement;
  private countNode: HTMLElement;
  private startButton: HTMLButtonElement;
  private cancelButton: HTMLButtonElement;
  private progressNode: HTMLElement;
  private resultsNode: HTMLElement;
}
