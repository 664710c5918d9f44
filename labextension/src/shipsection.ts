/**
 * The ship part of the production panel: git status, a commit message, and
 * "Check & Push" (export, quality gate, commit, push) with each step's live
 * status and the failures shown as file:line, test name and message.
 */
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { errorText, notifyError } from './client';
import { NbprodContext, NotebookSection } from './context';
import { badge, button, fill, h, poll, section } from './dom';
import { findingWhere, formatDuration, problemFindings } from './format';
import { jobGateReport, obj, parsePushResult } from './parse';
import { GitStatus, Job } from './wire';

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
      title: 'Run the quality gate without committing'
    });
    this.jobNode = h('div', { className: 'jp-nbprod-job' });
    body.append(
      this.gitNode,
      this.messageInput,
      h('div', { className: 'jp-nbprod-row' }, this.pushButton, this.checkButton),
      this.jobNode
    );
  }

  dispose(): void {
    this.stopPoll?.();
    super.dispose();
  }

  setNotebook(panel: NotebookPanel | null): void {
    this.panel = panel;
    void this.loadGit();
  }

  async loadGit(): Promise<void> {
    try {
      this.git = await this.ctx.client.gitStatus();
      this.gitError = '';
    } catch (error) {
      this.git = null;
      this.gitError = errorText(error);
    }
    this.renderGit();
  }

  private renderGit(): void {
    const git = this.git;
    if (!git) {
      fill(this.gitNode, this.gitError ? h('span', { className: 'jp-nbprod-empty' }, this.gitError) : null);
      return;
    }
    const parts = [`${git.branch || '(no branch)'}${git.remote ? ` → ${git.remote}` : ''}`];
    parts.push(`${git.changed.length} changed file${git.changed.length === 1 ? '' : 's'}`);
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
    if (this.panel?.context.model.dirty) {
      await this.panel.context.save();
    }
    this.stopPoll?.();
    this.setBusy(true);
    fill(this.jobNode, h('span', { className: 'jp-nbprod-empty' }, 'starting…'));
    try {
      const job = kind === 'push' ? await this.ctx.client.startPush(message, false) : await this.ctx.client.startGate(true);
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
                job.error?.hint ? h('div', { className: 'jp-nbprod-hint' }, job.error.hint) : null
              );
      } else {
        verdict = h(
          'div',
          { className: 'jp-nbprod-verdict', 'data-ok': String(job.status === 'succeeded' && (report?.ok ?? true)) },
          job.status === 'succeeded' && (report?.ok ?? true) ? 'The gate passed' : 'The gate failed',
          job.error ? `: ${job.error.message}` : '',
          job.error?.hint ? h('div', { className: 'jp-nbprod-hint' }, job.error.hint) : null
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
                      f.hint ? h('span', { className: 'jp-nbprod-hint' }, f.hint) : null
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
  private stopPoll: (() => void) | null = null;
  private gitNode: HTMLElement;
  private messageInput: HTMLTextAreaElement;
  private pushButton: HTMLButtonElement;
  private checkButton: HTMLButtonElement;
  private jobNode: HTMLElement;
}
