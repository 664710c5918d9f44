/**
 * Cell roles in the notebook: commands that set a cell's role tag, and the
 * decoration (coloured left border and a label in the prompt area) that shows
 * the role the server's plan gives every cell.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { Cell, ICellModel } from '@jupyterlab/cells';
import { INotebookTracker, Notebook, NotebookPanel } from '@jupyterlab/notebook';
import { Menu } from '@lumino/widgets';

import { NbprodContext } from './context';
import { plannedRole, Role, ROLES, ROLE_LABELS, sameTags, taggedAs, withRole } from './roles';
import { Plan } from './wire';

/** Command ids of the role commands. */
export const roleCommand = (role: Role): string => `nbprod:set-role-${role}`;

/** The attribute on a cell node that the CSS keys the decoration on. */
export const ROLE_ATTRIBUTE = 'data-nbprod-role';

/** The cells a command acts on: the selected cells, or the active one. */
function targetCells(notebook: Notebook): Cell[] {
  return notebook.widgets.filter(cell => notebook.isSelectedOrActive(cell));
}

/** Give a cell a role by editing its `metadata.tags`. */
export function setCellRole(model: ICellModel, role: Role): void {
  const tags = model.getMetadata('tags');
  const next = withRole(tags, role);
  if (sameTags(tags, next) && Array.isArray(tags)) {
    return;
  }
  if (next.length) {
    model.setMetadata('tags', next);
  } else if (tags !== undefined) {
    model.deleteMetadata('tags');
  }
}

/** The last plan of each notebook (the decoration follows it, never the tags alone). */
const plans = new WeakMap<NotebookPanel, Plan>();

/** Show the role the plan gives a cell on its node. */
function decorate(panel: NotebookPanel, cell: Cell, index: number): void {
  if (!cell.model || cell.isDisposed) {
    return;
  }
  const plan = plans.get(panel);
  if (!plan) {
    return;
  }
  const role = plannedRole(plan, cell.model.id ?? null, index);
  if (role === 'none') {
    cell.node.removeAttribute(ROLE_ATTRIBUTE);
  } else if (cell.node.getAttribute(ROLE_ATTRIBUTE) !== role) {
    cell.node.setAttribute(ROLE_ATTRIBUTE, role);
  }
}

function decorateAll(panel: NotebookPanel): void {
  panel.content.widgets.forEach((cell, index) => decorate(panel, cell, index));
}

/** Redecorate a notebook's cells as they are added or come into view. */
function watchNotebook(panel: NotebookPanel): void {
  const notebook = panel.content;
  const onCells = () => requestAnimationFrame(() => decorateAll(panel));
  const onViewport = (_: Notebook, cell: Cell) => decorate(panel, cell, notebook.widgets.indexOf(cell));
  let model = notebook.model;
  const connectModel = () => {
    model?.cells.changed.disconnect(onCells);
    model = notebook.model;
    model?.cells.changed.connect(onCells);
    decorateAll(panel);
  };
  notebook.modelChanged.connect(connectModel);
  notebook.cellInViewportChanged.connect(onViewport);
  panel.context.ready.then(connectModel).catch(() => undefined);
  connectModel();
  panel.disposed.connect(() => {
    model?.cells.changed.disconnect(onCells);
    notebook.modelChanged.disconnect(connectModel);
    notebook.cellInViewportChanged.disconnect(onViewport);
  });
}

/** Add the role commands, their menus and the cell decoration. */
export function activateCellRoles(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  palette: ICommandPalette | null,
  ctx: NbprodContext
): void {
  const { commands } = app;
  const current = () => tracker.currentWidget?.content ?? null;

  for (const role of ROLES) {
    commands.addCommand(roleCommand(role), {
      label: args => (args.isPalette ? `Set Cell Role: ${ROLE_LABELS[role]}` : ROLE_LABELS[role]),
      caption:
        role === 'none'
          ? 'Remove the export, test and parameters tags from the selected cells'
          : `Tag the selected cells "${role}" (and remove the other role tags)`,
      isEnabled: () => current() !== null,
      isToggled: () => {
        const notebook = current();
        const cell = notebook?.activeCell;
        return !!cell && taggedAs(cell.model.getMetadata('tags'), role);
      },
      execute: () => {
        const notebook = current();
        if (!notebook) {
          return;
        }
        for (const cell of targetCells(notebook)) {
          setCellRole(cell.model, role);
        }
      }
    });
    palette?.addItem({ command: roleCommand(role), category: 'nbprod', args: { isPalette: true } });
  }

  const submenu = new Menu({ commands });
  submenu.title.label = 'Production Role';
  submenu.id = 'jp-nbprod-role-menu';
  for (const role of ROLES) {
    submenu.addItem({ command: roleCommand(role) });
  }
  app.contextMenu.addItem({
    type: 'submenu',
    submenu,
    selector: '.jp-Notebook .jp-Cell',
    rank: 20
  });

  // the plan decides what each cell is: the export section emits every new plan
  ctx.planChanged.connect((_, { panel, plan }) => {
    if (plan) {
      plans.set(panel, plan);
      decorateAll(panel);
    }
  });
  tracker.widgetAdded.connect((_, panel) => watchNotebook(panel));
  tracker.forEach(panel => watchNotebook(panel));
  tracker.activeCellChanged.connect(() => {
    for (const role of ROLES) {
      commands.notifyCommandChanged(roleCommand(role));
    }
  });
}
