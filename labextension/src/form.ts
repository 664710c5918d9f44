/**
 * The run form's values: which input a parameter gets, the text of its
 * default, and reading typed text back into the JSON value sent.
 */
import { InputKind, Parameter } from './wire';

export function inputKind(type: string): InputKind {
  switch (type) {
    case 'int':
    case 'float':
    case 'bool':
    case 'str':
      return type;
    default:
      return 'json';
  }
}

/**
 * Read a value typed in the run form into the JSON value sent to the
 * server. Returns an error message instead when it cannot be read.
 */
export function readInput(kind: InputKind, text: string | boolean): { value?: unknown; error?: string } {
  if (kind === 'bool') {
    return { value: Boolean(text) };
  }
  const raw = String(text);
  if (kind === 'str') {
    return { value: raw };
  }
  const trimmed = raw.trim();
  if (kind === 'int') {
    return /^[-+]?\d+$/.test(trimmed)
      ? { value: parseInt(trimmed, 10) }
      : { error: `${JSON.stringify(raw)} is not a whole number` };
  }
  if (kind === 'float') {
    const value = Number(trimmed);
    return trimmed !== '' && isFinite(value)
      ? { value }
      : { error: `${JSON.stringify(raw)} is not a number` };
  }
  try {
    return { value: JSON.parse(trimmed) };
  } catch {
    return { error: `${JSON.stringify(raw)} is not valid JSON` };
  }
}

/** The text a parameter's default shows in the run form. */
export function defaultText(parameter: Parameter): string {
  const kind = inputKind(parameter.type);
  if (!parameter.literal) {
    // an expression: the field stays empty (placeholder: the expression)
    return '';
  }
  const source = parameter.default_source.trim();
  if ((kind === 'int' || kind === 'float') && /^[-+]?(\d[\d_]*)?\.?\d*(e[-+]?\d+)?$/i.test(source) && source) {
    // as written: 1.0 stays 1.0, 1e3 stays 1e3
    return source.replace(/_/g, '');
  }
  if (kind === 'str') {
    return typeof parameter.default === 'string' ? parameter.default : String(parameter.default ?? '');
  }
  if (kind === 'bool') {
    return parameter.default ? 'true' : 'false';
  }
  if (kind === 'float' && typeof parameter.default === 'number' && Number.isInteger(parameter.default)) {
    // JSON lost the decimal point
    return parameter.default.toFixed(1);
  }
  return JSON.stringify(parameter.default ?? null);
}

/** A value's type as the parameters cell's default has it (`''`: anything goes). */
function expectedKind(parameter: Parameter): InputKind | '' {
  if (!parameter.literal || parameter.default === null || parameter.default === undefined) {
    // an expression or None: the server accepts any value, so does the form
    return '';
  }
  return inputKind(parameter.type) === 'json' ? '' : inputKind(parameter.type);
}

/**
 * Why these values (read from the batch form) do not fit the parameter, or
 * `''` when they do: the same rule as the server's (`nbprod/run/params.py`):
 * an int parameter takes whole numbers, a float one numbers, a bool one
 * true/false, a str one text; None is always allowed.
 */
export function valuesError(parameter: Parameter, values: unknown[]): string {
  const kind = expectedKind(parameter);
  if (!kind) {
    return '';
  }
  const fits = (v: unknown): boolean => {
    if (v === null) {
      return true;
    }
    switch (kind) {
      case 'int':
        return typeof v === 'number' && Number.isInteger(v);
      case 'float':
        return typeof v === 'number';
      case 'bool':
        return typeof v === 'boolean';
      case 'str':
        return typeof v === 'string';
      default:
        return true;
    }
  };
  const bad = values.filter(v => !fits(v));
  if (!bad.length) {
    return '';
  }
  const words: Record<string, string> = { int: 'a whole number', float: 'a number', bool: 'true or false', str: 'text (quote it: "1")' };
  const what = words[kind] ?? 'another kind of value';
  const shown = bad.map(v => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  return `${shown}: ${parameter.name} takes ${what}`;
}

/**
 * JSON text of parameter values in which the float parameters' whole
 * numbers keep their decimal point (`1.0`, not `1`), so the notebook gets a
 * float as typed. JavaScript has one number type; JSON text has both.
 */
export function parametersJson(value: unknown, floats: ReadonlySet<string>, key: string | null = null): string {
  if (Array.isArray(value)) {
    return `[${value.map(v => parametersJson(v, floats, key)).join(', ')}]`;
  }
  if (typeof value === 'number' && key !== null && floats.has(key) && Number.isInteger(value)) {
    return `${value}.0`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([k, v]) => `${JSON.stringify(k)}: ${parametersJson(v, floats, k)}`
    );
    return `{${entries.join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** A parameter value as text, keeping a float parameter's decimal point. */
export function parameterText(value: unknown, type: string | undefined): string {
  if (type === 'float' && typeof value === 'number' && Number.isInteger(value)) {
    return value.toFixed(1);
  }
  if (typeof value === 'string') {
    return value;
  }
  return typeof value === 'number' ? String(Number.isInteger(value) ? value : Number(value.toPrecision(6))) : JSON.stringify(value);
}

/** The names of the float parameters (their values keep `.0`). */
export function floatNames(parameters: Parameter[]): Set<string> {
  return new Set(parameters.filter(p => p.type === 'float').map(p => p.name));
}
