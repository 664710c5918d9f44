/**
 * Cell roles in the notebook: commands that set a cell's role tag, and the
 * decoration (coloured left border and a label) that shows it on every cell.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { Cell, ICellModel } from '@jupyterlab/cells';
import { INotebookTracker, Notebook, NotebookPanel } from '@jupyterlab/notebook';
import { Menu } from '@lumino/widgets';

import { Role, ROLES, ROLE_LABELS, roleOf, sameTags, withRole } from './roles';

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

/** Show a cell's role on its node. */
function decorate(cell: Cell): void {
  if (!cell.model || cell.isDisposed) {
    return;
  }
  const role = roleOf(cell.model.getMetadata('tags'));
  if (role === 'none') {
    cell.node.removeAttribute(ROLE_ATTRIBUTE);
  } else if (cell.node.getAttribute(ROLE_ATTRIBUTE) !== role) {
    cell.node.setAttribute(ROLE_ATTRIBUTE, role);
  }
}

/** Keep every cell of a notebook decorated, as cells are added and retagged. */
function watchNotebook(panel: NotebookPanel): void {
  const notebook = panel.content;
  const watched = new WeakSet<ICellModel>();
  const refresh = () => {
    for (const cell of notebook.widgets) {
      if (!watched.has(cell.model)) {
        watched.add(cell.model);
        cell.model.metadataChanged.connect(() => {
          // the widget of a model can be re-created: decorate the current one
          const current = notebook.widgets.find(w => w.model === cell.model);
          if (current) {
            decorate(current);
          }
        });
      }
      decorate(cell);
    }
  };
  const connected = new WeakSet<object>();
  const connectModel = () => {
    const model = notebook.model;
    if (model && !connected.has(model)) {
      connected.add(model);
      model.cells.changed.connect(() => requestAnimationFrame(refresh));
    }
    refresh();
  };
  notebook.modelChanged.connect(connectModel);
  notebook.cellInViewportChanged.connect((_, cell) => decorate(cell));
  panel.context.ready.then(connectModel).catch(() => undefined);
  if (notebook.model) {
    connectModel();
  }
}

/** Add the role commands, their menus and the cell decoration. */
export function activateCellRoles(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  palette: ICommandPalette | null
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
        return !!cell && roleOf(cell.model.getMetadata('tags')) === role;
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

  tracker.widgetAdded.connect((_, panel) => watchNotebook(panel));
  tracker.forEach(panel => watchNotebook(panel));
  tracker.activeCellChanged.connect(() => {
    for (const role of ROLES) {
      commands.notifyCommandChanged(roleCommand(role));
    }
  });
}
