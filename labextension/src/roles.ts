/**
 * Cell roles. Editing: the `export`, `test` and `parameters` tags of a
 * cell's `metadata.tags` (what the role commands write). Showing: the role
 * the server's plan gives each cell (tags, `#| export` directives,
 * `exporti`), never a guess made here. Pure functions, no DOM.
 */
import { CellPlan, Plan } from './wire';

/** The role tags nbprod understands, in the order they are shown. */
export const ROLE_TAGS = ['export', 'test', 'parameters'] as const;

/** A role tag. */
export type RoleTag = (typeof ROLE_TAGS)[number];

/** A role a user can give a cell: one of the tags, or `none`. */
export type Role = RoleTag | 'none';

/** Every role, `none` last. */
export const ROLES: readonly Role[] = [...ROLE_TAGS, 'none'];

/** Human labels of the roles (menus, palette). */
export const ROLE_LABELS: Record<Role, string> = {
  export: 'Export (module code)',
  test: 'Test (pytest test)',
  parameters: 'Parameters (papermill defaults)',
  none: 'None (exploration)'
};

/** True when `value` is a role name. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Normalise a `metadata.tags` value: a list of strings, or an empty list. */
export function tagList(tags: unknown): string[] {
  if (!Array.isArray(tags)) {
    return [];
  }
  return tags.filter((tag): tag is string => typeof tag === 'string');
}

/**
 * True when the tags give exactly `role` (for `none`: no role tag): the
 * check mark of the role commands, which edit tags.
 */
export function taggedAs(tags: unknown, role: Role): boolean {
  const present = ROLE_TAGS.filter(tag => tagList(tags).includes(tag));
  return role === 'none' ? present.length === 0 : present.length === 1 && present[0] === role;
}

/** The roles the plan shows: `export`, `exporti`, `test`, `parameters`. */
export const SHOWN_ROLES = ['export', 'exporti', 'test', 'parameters'];

/**
 * The role the plan gives a cell: found by cell id, else by index; `none`
 * when the plan does not list it (markdown cells, exploration).
 */
export function plannedRole(plan: Plan, cellId: string | null, index: number): string {
  let cell: CellPlan | undefined;
  if (cellId) {
    cell = plan.cells.find(c => c.cell_id === cellId);
  }
  if (!cell && !plan.cells.some(c => c.cell_id)) {
    cell = plan.cells.find(c => c.index === index);
  }
  return cell && SHOWN_ROLES.includes(cell.role) ? cell.role : 'none';
}

/**
 * The tags after giving a cell `role`: the roles are exclusive, so the other
 * role tags are removed; `none` removes all three. Other tags keep their
 * order; the role tag goes last; duplicates of the role tag are dropped.
 */
export function withRole(tags: unknown, role: Role): string[] {
  const others = tagList(tags).filter(
    tag => !(ROLE_TAGS as readonly string[]).includes(tag)
  );
  return role === 'none' ? others : [...others, role];
}

/** True when two tag lists are equal (same tags, same order). */
export function sameTags(a: unknown, b: unknown): boolean {
  const x = tagList(a);
  const y = tagList(b);
  return x.length === y.length && x.every((tag, i) => tag === y[i]);
}
