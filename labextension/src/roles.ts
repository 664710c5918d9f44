/**
 * Cell roles: the `export`, `test` and `parameters` tags of a cell's
 * `metadata.tags`. Pure functions, no DOM: the commands and the cell
 * decorations build on these.
 */

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
 * The role of a cell with these tags: the first role tag it carries in
 * `ROLE_TAGS` order (a cell tagged both `export` and `test` is shown as
 * `export`, as the exporter treats it), else `none`.
 */
export function roleOf(tags: unknown): Role {
  const list = tagList(tags);
  return ROLE_TAGS.find(tag => list.includes(tag)) ?? 'none';
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
