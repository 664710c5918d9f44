/**
 * "Pull edits into notebook": the hand edits of a notebook's generated
 * module and tests go back into its cells (`nbprod sync`).
 *
 * The cells that will change are shown first, a diff per cell (from a sync
 * with `check`); only on confirmation is the notebook written, and the open
 * notebook then reloads from disk. A notebook with unsaved changes is never
 * pulled into: reloading would throw those changes away.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { ApiError, errorText, notifyError } from './client';
import { NbprodContext, notebookPath } from './context';
import { diffNode, h } from './dom';
import { NotebookSync, parseSync, SyncChange, SyncConflict, SyncResult } from './syncwire';

type Prefer = 'module' | 'notebook';

/** What a pull did: `pulled` (the notebook changed), or why not. */
export type PullOutcome = 'pulled' | 'nothing' | 'cancelled' | 'unsaved' | 'refused';

const SAVE_FIRST =
  'The notebook has unsaved changes. Save it first: pulling the edits rewrites the notebook on disk and reloads it, which would lose them.';

/** Offer the hand edits of the generated files to the open notebook, and pull them in on confirmation. */
export async function pullEdits(ctx: NbprodContext, panel: NotebookPanel): Promise<PullOutcome> {
  if (panel.context.model.dirty) {
    await showDialog({ title: 'Save the notebook first', body: SAVE_FIRST, buttons: [Dialog.okButton()] });
    return 'unsaved';
  }
  const path = notebookPath(panel);
  let prefer: Prefer | undefined;
  let preview = await syncOrRefusal(ctx, path, { check: true });
  if (preview === null) {
    return 'refused';
  }
  let nb = preview.notebooks[0];
  if (nb?.conflicts.length) {
    const choice = await showDialog({
      title: 'Changed on both sides',
      body: conflictsWidget(nb),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: "Keep the Notebook's" }),
        Dialog.okButton({ label: "Take the Module's" })
      ]
    });
    if (!choice.button.accept) {
      return 'cancelled';
    }
    prefer = choice.button.label.includes('Module') ? 'module' : 'notebook';
    preview = await syncOrRefusal(ctx, path, { check: true, prefer });
    if (preview === null) {
      return 'refused';
    }
    nb = preview.notebooks[0];
  }
  if (nb?.error) {
    Notification.error(`Cannot pull the edits: ${nb.error.message}${nb.error.hint ? ` — ${nb.error.hint}` : ''}`, {
      autoClose: 10000
    });
    return 'refused';
  }
  const changes = nb?.changes ?? [];
  if (changes.length) {
    const confirm = await showDialog({
      title: 'Pull edits into notebook?',
      body: changesWidget(path, changes, nb?.notes ?? []),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Pull Edits' })]
    });
    if (!confirm.button.accept) {
      return 'cancelled';
    }
  }
  if (panel.context.model.dirty) {
    // edited while the dialog was open
    await showDialog({ title: 'Save the notebook first', body: SAVE_FIRST, buttons: [Dialog.okButton()] });
    return 'unsaved';
  }
  const done = await syncOrRefusal(ctx, path, { check: false, prefer });
  if (done === null) {
    return 'refused';
  }
  const outcome = done.notebooks[0];
  if (outcome?.error) {
    Notification.error(`Cannot pull the edits: ${outcome.error.message}`, { autoClose: 10000 });
    return 'refused';
  }
  if (outcome?.status === 'synced') {
    await panel.context.revert();
    ctx.exported.emit();
    const count = outcome.changes.length;
    Notification.success(
      count
        ? `Pulled the edits into ${count} cell${count === 1 ? '' : 's'} of ${panel.context.path}`
        : `The generated files of ${panel.context.path} were written again from the notebook`,
      { autoClose: 5000 }
    );
    return 'pulled';
  }
  Notification.info(`Nothing to pull: the generated files of ${panel.context.path} are as export wrote them`, {
    autoClose: 5000
  });
  return 'nothing';
}

/** A sync's report; a refusal that carries one (409, 422) is a report too. Other errors: notified, null. */
async function syncOrRefusal(
  ctx: NbprodContext,
  path: string,
  request: { check: boolean; prefer?: Prefer }
): Promise<SyncResult | null> {
  try {
    return await ctx.client.syncNotebook(path, request);
  } catch (error) {
    if (error instanceof ApiError && error.data && typeof error.data === 'object' && 'notebooks' in error.data) {
      const report = parseSync(error.data);
      if (report.notebooks.length) {
        return report;
      }
    }
    notifyError('Cannot pull the edits', error);
    console.warn(errorText(error));
    return null;
  }
}

function cellLabel(index: number, id: string | null, first: string): string {
  return `Cell ${index + 1}${id ? ` · ${id}` : ''}${first.trim() ? ` · ${first.trim()}` : ''}`;
}

function changesWidget(path: string, changes: SyncChange[], notes: string[]): Widget {
  const verbs: Record<string, string> = { update: 'Changes', insert: 'A new cell', untag: 'Loses its export role' };
  const node = h(
    'div',
    { className: 'jp-nbprod-syncDialog' },
    h('p', {}, `${changes.length} cell${changes.length === 1 ? '' : 's'} of ${path} will change. The notebook is then reloaded from disk.`),
    changes.map(change =>
      h(
        'section',
        { className: 'jp-nbprod-syncCell', 'data-cell-id': change.cell_id ?? '', 'data-action': change.action },
        h('h3', {}, cellLabel(change.index, change.cell_id, change.first_line)),
        h(
          'div',
          { className: 'jp-nbprod-syncFrom' },
          `${verbs[change.action] ?? 'Changes'}, from ${change.file}${change.line ? `, line ${change.line}` : ''}`
        ),
        diffNode(change.diff)
      )
    ),
    notes.length ? h('ul', { className: 'jp-nbprod-syncNotes' }, notes.map(note => h('li', {}, note))) : null
  );
  return new Widget({ node });
}

function conflictsWidget(nb: NotebookSync): Widget {
  const node = h(
    'div',
    { className: 'jp-nbprod-syncDialog' },
    h(
      'p',
      {},
      `${nb.conflicts.length} cell${nb.conflicts.length === 1 ? ' was' : 's were'} changed both in the notebook and in the generated files since the last export. Nothing is written until you choose which side wins.`
    ),
    nb.conflicts.map((conflict: SyncConflict) =>
      h(
        'section',
        { className: 'jp-nbprod-syncCell jp-nbprod-syncConflict', 'data-cell-id': conflict.cell_id ?? '' },
        h('h3', {}, cellLabel(conflict.index, conflict.cell_id, conflict.first_line)),
        h('h4', {}, `In ${conflict.file}`),
        diffNode(conflict.module_diff),
        conflict.notebook_diff ? h('h4', {}, 'In the notebook') : null,
        conflict.notebook_diff ? diffNode(conflict.notebook_diff) : null
      )
    )
  );
  return new Widget({ node });
}
