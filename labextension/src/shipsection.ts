/**
 * The ship part of the production panel: what the next push will commit
 * (each file staged as push stages it, with its status and a diff; refreshed
 * on save, after an export and when the window gets the focus), a commit
 * message, and "Check & Push" (export, quality gate, commit, push) with each
 * step's live status and the failures shown as file:line, test name and message.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { errorText, notifyError } from './client';
import { NbprodContext, NotebookSection } from './context';
import { DepsNotice } from './deps';
import { badge, button, debounce, diffNode, fill, h, pathNodes, poll, section, working } from './dom';
import { findingWhere, formatDuration, hintWithButtons, problemFindings, uiHint } from './format';
import { jobGateReport, obj, parsePushResult } from './parse';
import { GitStatus, Job, ShipFile, ShipPreview } from './wire';

/** A failed job's hint in the panel's words, with the buttons of its remedies. */
function jobHint(job: Job): HTMLElement | null {
  const hint = job.error ? hintWithButtons(job.error.hint, job.error.actions) : '';
  return hint ? h('div', { className: 'jp-nbprod-hint' }, hint) : null;
}

export class ShipSection extends Widget implements NotebookSection {
  constructor(private ctx: NbprodContext) {
    super();
    this.addClass('jp-nbprod-shipPart');
    const { node, body } = section('Ship', 'jp-nbprod-shipSection');
    this.node.append(node);
    this.gitNode = h('div', { className: 'jp-nbprod-git' });
    this.messageInput = h('textarea', {
      className: 'jp-mod-styled jp-nbprod-commitMessage',
      rows: 3,
      placeholder: 'Commit message',
      'aria-label': 'Commit message'
    });
    this.pushButton = button('Check & Push', () => void this.start('push'), {
      accept: true,
      className: 'jp-nbprod-pushButton',
      title: 'Export, run the quality gate, and commit and push only if it passes'
    });
    this.checkButton = button('Check Only', () => void this.start('gate'), {
      className: 'jp-nbprod-checkButton',
      title: 'Export, then run the quality gate on what a push would commit, without committing'
    });
    this.jobNode = h('div', { className: 'jp-nbprod-job' });
    this.previewNode = h('div', { className: 'jp-nbprod-shipPreview' });
    this.deps = new DepsNotice(ctx.client);
    this.refreshSoon = debounce(() => void this.loadGit(), () => 300);
    this.onFocus = () => this.refreshSoon();
    window.addEventListener('focus', this.onFocus);
    ctx.exported.connect(this.onExported, this);
    body.append(
      this.gitNode,
      this.previewNode,
      this.deps.node,
      this.messageInput,
      h('div', { className: 'jp-nbprod-row' }, this.pushButton, this.checkButton),
      this.jobNode
    );
  }

  dispose(): void {
    this.stopPoll?.();
    this.refreshSoon.cancel();
    window.removeEventListener('focus', this.onFocus);
    this.ctx.exported.disconnect(this.onExported, this);
    this.panel?.context.saveState.disconnect(this.onSaveState, this);
    super.dispose();
  }

  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.panel && this.loadedOnce) {
      return;
    }
    this.panel?.context.saveState.disconnect(this.onSaveState, this);
    this.panel = panel;
    panel?.context.saveState.connect(this.onSaveState, this);
    void this.loadGit();
  }

  private onSaveState(_: unknown, state: string): void {
    if (state === 'completed') {
      this.refreshSoon();
    }
  }

  private onExported(): void {
    this.refreshSoon();
  }

  /** Read the git status and what the next push will commit. */
  async loadGit(): Promise<void> {
    const seq = ++this.sequence;
    if (!this.loadedOnce) {
      fill(this.gitNode, h('span', { className: 'jp-nbprod-loading' }, 'Reading what a push would commit…'));
    }
    void this.deps.load();
    const [git, preview] = await Promise.allSettled([this.ctx.client.gitStatus(), this.ctx.client.shipPreview()]);
    if (seq !== this.sequence) {
      return;
    }
    this.loadedOnce = true;
    this.git = git.status === 'fulfilled' ? git.value : null;
    this.gitError = git.status === 'rejected' ? errorText(git.reason) : '';
    this.preview = preview.status === 'fulfilled' ? preview.value : null;
    this.previewError = preview.status === 'rejected' ? errorText(preview.reason) : '';
    this.renderGit();
    this.renderPreview();
  }

  private renderPreview(): void {
    const preview = this.preview;
    if (!preview) {
      fill(this.previewNode, this.previewError && !this.gitError ? h('div', { className: 'jp-nbprod-empty' }, this.previewError) : null);
      return;
    }
    const files = preview.files;
    fill(
      this.previewNode,
      preview.stale.length
        ? h(
            'div',
            { className: 'jp-nbprod-note jp-nbprod-staleNote' },
            `${preview.stale.length} generated file${preview.stale.length === 1 ? ' is' : 's are'} out of date with the notebooks: `,
            'Check Only and Check & Push export them first, so the gate checks the code of the notebooks.'
          )
        : null,
      preview.configures_filter
        ? h(
            'div',
            { className: 'jp-nbprod-note jp-nbprod-filterNote' },
            'The first push also sets up output stripping in this repository (a git filter in .git/config): notebooks are committed without their outputs.'
          )
        : null,
      h(
        'h4',
        { className: 'jp-nbprod-subTitle' },
        files.length ? `Will commit ${files.length} file${files.length === 1 ? '' : 's'}` : 'Nothing to commit'
      ),
      files.length
        ? h(
            'ul',
            { className: 'jp-nbprod-shipFiles' },
            files.map(file => this.renderFile(file))
          )
        : null
    );
  }

  private renderFile(file: ShipFile): HTMLElement {
    const open = this.openDiffs.has(file.path);
    const item = h(
      'li',
      { className: 'jp-nbprod-shipFile', 'data-path': file.path, 'data-status': file.status },
      h(
        'button',
        {
          type: 'button',
          className: 'jp-nbprod-shipFileButton',
          'aria-expanded': String(open),
          title: open ? 'Hide the diff' : 'Show the diff',
          onclick: () => {
            if (this.openDiffs.has(file.path)) {
              this.openDiffs.delete(file.path);
            } else {
              this.openDiffs.add(file.path);
            }
            this.renderPreview();
          }
        },
        h('span', { className: 'jp-nbprod-fileStatus', 'data-status': file.status }, file.status),
        h('span', { className: 'jp-nbprod-shipPath' }, pathNodes(file.path)),
        file.kind === 'notebook' ? h('span', { className: 'jp-nbprod-tag' }, 'cells, no outputs') : null,
        file.generated ? h('span', { className: 'jp-nbprod-tag' }, 'generated') : null
      ),
      open ? renderDiff(file) : null
    );
    return item;
  }

  private renderGit(): void {
    const git = this.git;
    if (!git) {
      fill(this.gitNode, this.gitError ? h('span', { className: 'jp-nbprod-empty' }, this.gitError) : null);
      return;
    }
    const parts = [`${git.branch || '(no branch)'}${git.remote ? ` → ${git.remote}` : ''}`];
    if (!this.preview) {
      parts.push(`${git.changed.length} changed file${git.changed.length === 1 ? '' : 's'}`);
    }
    if (git.ahead) {
      parts.push(`${git.ahead} ahead`);
    }
    if (git.behind) {
      parts.push(`${git.behind} behind`);
    }
    fill(this.gitNode, h('span', { className: 'jp-nbprod-gitStatus', title: git.changed.join('\n') }, parts.join(' · ')));
  }

  private async start(kind: 'push' | 'gate'): Promise<void> {
    const message = this.messageInput.value.trim();
    if (kind === 'push' && !message) {
      Notification.warning('Write a commit message first.', { autoClose: 4000 });
      this.messageInput.focus();
      return;
    }
    if (kind === 'push' && this.preview?.configures_filter && !this.filterConfirmed) {
      const answer = await showDialog({
        title: 'Set up output stripping?',
        body: 'This first push adds a git filter (nbstripout) to this repository\'s .git/config, so notebooks are committed without their outputs. Your working copies keep their outputs.',
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Set Up and Push' })]
      });
      if (!answer.button.accept) {
        return;
      }
      this.filterConfirmed = true;
    }
    if (this.panel?.context.model.dirty) {
      await this.panel.context.save();
    }
    this.stopPoll?.();
    this.setBusy(true);
    fill(this.jobNode);
    const stop = working(this.jobNode, kind === 'push' ? 'starting check & push…' : 'starting the check…');
    try {
      const job = kind === 'push' ? await this.ctx.client.startPush(message) : await this.ctx.client.startGate(true);
      stop();
      this.display(job);
      this.stopPoll = poll(
        async () => {
          const current = await this.ctx.client.job(job.id);
          this.display(current);
          const done = current.terminal;
          if (done) {
            this.setBusy(false);
            void this.loadGit();
          }
          return done;
        },
        () => this.ctx.settings.pollInterval,
        error => {
          this.setBusy(false);
          notifyError('Lost track of the ship job', error);
        }
      );
    } catch (error) {
      stop();
      this.setBusy(false);
      fill(this.jobNode);
      notifyError(kind === 'push' ? 'Check & Push failed to start' : 'Check failed to start', error);
    }
  }

  private setBusy(busy: boolean): void {
    this.pushButton.disabled = busy;
    this.checkButton.disabled = busy;
  }

  private display(job: Job): void {
    const report = jobGateReport(job);
    const finished = job.terminal;
    const steps = job.steps.length
      ? job.steps.map(step => ({ ...step, duration: report?.steps.find(s => s.name === step.name)?.duration ?? null }))
      : (report?.steps ?? []);
    const failures = report ? report.steps.filter(s => problemFindings(s).length && s.status !== 'passed') : [];
    let verdict: HTMLElement | null = null;
    if (finished) {
      if (job.kind === 'push' || job.kind === '') {
        const push = parsePushResult(obj(job.result).push ?? job.result);
        verdict =
          job.status === 'succeeded' && push.pushed !== false
            ? h(
                'div',
                { className: 'jp-nbprod-verdict', 'data-ok': 'true' },
                'Pushed',
                push.commit ? ` ${push.commit.slice(0, 10)}` : '',
                push.remote ? ` to ${push.remote}${push.branch ? `/${push.branch}` : ''}` : '',
                push.message ? h('div', { className: 'jp-nbprod-hint' }, push.message) : null
              )
            : h(
                'div',
                { className: 'jp-nbprod-verdict', 'data-ok': 'false' },
                'Nothing was pushed',
                job.error ? `: ${job.error.message}` : report && !report.ok ? ': the quality gate failed' : '',
                jobHint(job)
              );
      } else {
        verdict = h(
          'div',
          { className: 'jp-nbprod-verdict', 'data-ok': String(job.status === 'succeeded' && (report?.ok ?? true)) },
          job.status === 'succeeded' && (report?.ok ?? true) ? 'The gate passed' : 'The gate failed',
          job.error ? `: ${job.error.message}` : '',
          jobHint(job)
        );
      }
    }
    fill(
      this.jobNode,
      h('div', { className: 'jp-nbprod-row' }, badge(job.status), h('span', {}, job.kind === 'gate' ? 'quality gate' : 'check & push')),
      h(
        'ol',
        { className: 'jp-nbprod-steps' },
        steps.map(step =>
          h(
            'li',
            { 'data-step': step.name, 'data-status': step.status },
            badge(step.status),
            h('span', { className: 'jp-nbprod-stepName' }, step.name),
            step.duration !== null ? h('span', { className: 'jp-nbprod-duration' }, formatDuration(step.duration)) : null
          )
        )
      ),
      failures.length
        ? h(
            'div',
            { className: 'jp-nbprod-failures' },
            failures.map(step =>
              h(
                'div',
                { className: 'jp-nbprod-failure', 'data-step': step.name },
                h('div', { className: 'jp-nbprod-failureStep' }, `${step.name}${step.summary ? `: ${step.summary}` : ''}`),
                h(
                  'ul',
                  {},
                  problemFindings(step).map(f =>
                    h(
                      'li',
                      { className: 'jp-nbprod-finding', 'data-severity': f.severity },
                      findingWhere(f) ? h('code', { className: 'jp-nbprod-where' }, findingWhere(f)) : null,
                      f.name && f.path ? h('span', { className: 'jp-nbprod-testName' }, f.name) : null,
                      h('span', { className: 'jp-nbprod-findingMessage' }, f.message),
                      f.hint ? h('span', { className: 'jp-nbprod-hint' }, uiHint(f.hint)) : null
                    )
                  )
                )
              )
            )
          )
        : null,
      verdict
    );
  }

  private panel: NotebookPanel | null = null;
  private git: GitStatus | null = null;
  private gitError = '';
  private preview: ShipPreview | null = null;
  private previewError = '';
  private loadedOnce = false;
  private sequence = 0;
  private filterConfirmed = false;
  private openDiffs = new Set<string>();
  private previewNode: HTMLElement;
  private deps: DepsNotice;
  private refreshSoon: ReturnType<typeof debounce>;
  private onFocus: () => void;
  private stopPoll: (() => void) | null = null;
  private gitNode: HTMLElement;
  private messageInput: HTMLTextAreaElement;
  private pushButton: HTMLButtonElement;
  private checkButton: HTMLButtonElement;
  private jobNode: HTMLElement;
}

/** A diff, one line per row, added and removed lines marked. */
function renderDiff(file: ShipFile): HTMLElement {
  if (file.kind === 'binary') {
    return h('div', { className: 'jp-nbprod-empty' }, 'a binary file');
  }
  if (!file.diff) {
    return h('div', { className: 'jp-nbprod-empty' }, 'no change to the text (only outputs or metadata)');
  }
  return diffNode(file.diff);
}
