/**
 * Parameter grids of batches: expansion into parameter sets (the same
 * cartesian product as the server's `nbprod.run.batch.expand_grid`), YAML
 * parsing, and the per-parameter value lists of the grid editor.
 */
import { load as loadYaml } from 'js-yaml';

/** A JSON-like value. */
export type Value = unknown;

/** A grid: parameter name → list of values (or a single value). */
export type Grid = Record<string, Value>;

/** A grid in the server's `{runs: [...]}` shape. */
export interface RunsGrid {
  runs: Record<string, Value>[];
}

/** An error in a grid, with a message for the user. */
export class GridError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GridError';
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turn a grid into parameter sets, in the server's order: the cartesian
 * product with the first parameter varying slowest (`itertools.product`);
 * a value that is not a list is a single value; `{runs: [...]}` lists the
 * sets explicitly.
 *
 * @throws GridError when the grid has neither shape or is empty.
 */
export function expandGrid(data: unknown): Record<string, Value>[] {
  if (!isMapping(data)) {
    throw new GridError(
      "a grid must be a mapping of parameter names to lists of values, or a mapping with a 'runs' list"
    );
  }
  let sets: Record<string, Value>[];
  if ('runs' in data) {
    const runs = data.runs;
    if (Object.keys(data).length !== 1 || !Array.isArray(runs)) {
      throw new GridError(
        "a grid with 'runs' must hold only a list of parameter sets"
      );
    }
    sets = runs.map((item, index) => {
      if (item === null || item === undefined) {
        return {};
      }
      if (!isMapping(item)) {
        throw new GridError(
          `runs[${index}] is not a mapping of parameter names to values`
        );
      }
      return { ...item };
    });
  } else {
    const names = Object.keys(data);
    const columns = names.map(name =>
      Array.isArray(data[name]) ? (data[name] as Value[]) : [data[name]]
    );
    const empty = names.filter((_, i) => columns[i].length === 0);
    if (empty.length) {
      throw new GridError(`empty list of values for ${empty.join(', ')}`);
    }
    sets = [{}];
    names.forEach((name, i) => {
      const next: Record<string, Value>[] = [];
      for (const set of sets) {
        for (const value of columns[i]) {
          next.push({ ...set, [name]: value });
        }
      }
      sets = next;
    });
  }
  if (!sets.length) {
    throw new GridError('the grid has no parameter sets');
  }
  return sets;
}

/** The number of parameter sets of a grid (0 when the grid is not valid). */
export function countRuns(data: unknown): number {
  try {
    return expandGrid(data).length;
  } catch {
    return 0;
  }
}

/**
 * Parse a YAML grid (what `nbprod batch --grid` reads) into a grid object.
 *
 * @throws GridError when the text is not YAML or not a grid.
 */
export function parseGridYaml(text: string): Grid | RunsGrid {
  let data: unknown;
  try {
    data = loadYaml(text);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new GridError(`the grid is not valid YAML: ${reason}`);
  }
  if (data === undefined || data === null) {
    throw new GridError('the grid is empty');
  }
  expandGrid(data);
  return data as Grid | RunsGrid;
}

/**
 * Parse the values a user typed for one parameter in the grid editor: a
 * comma-separated list in YAML's flow syntax (`0.1, 1.0`, `[1, 2]`,
 * `"a, b", c`). Numbers, booleans and null get their YAML types.
 *
 * @throws GridError when the text cannot be read.
 */
export function parseValueList(text: string): Value[] {
  const trimmed = text.trim();
  if (!trimmed) {
    return [];
  }
  const flow = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed : `[${trimmed}]`;
  let data: unknown;
  try {
    data = loadYaml(flow);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new GridError(`cannot read the values ${JSON.stringify(text)}: ${reason}`);
  }
  if (!Array.isArray(data)) {
    throw new GridError(`cannot read the values ${JSON.stringify(text)}`);
  }
  return data;
}

/** Write one value the way the grid editor shows it (YAML flow style). */
export function formatValue(value: Value): string {
  if (typeof value === 'string') {
    return /^[\w.\-/ ]*$/.test(value) && value.trim() === value && value !== '' &&
      !/^(true|false|null|yes|no|on|off|~|[-+]?[\d.]+(e[-+]?\d+)?)$/i.test(value)
      ? value
      : JSON.stringify(value);
  }
  return JSON.stringify(value);
}

/**
 * Build a grid from the grid editor's rows (parameter → typed text); rows
 * left empty are left out (the notebook's default applies).
 *
 * @throws GridError naming the parameter whose values cannot be read.
 */
export function gridFromRows(rows: Record<string, string>): Grid {
  const grid: Grid = {};
  for (const [name, text] of Object.entries(rows)) {
    let values: Value[];
    try {
      values = parseValueList(text);
    } catch (error) {
      throw new GridError(`${name}: ${(error as Error).message}`);
    }
    if (values.length) {
      grid[name] = values;
    }
  }
  return grid;
}
