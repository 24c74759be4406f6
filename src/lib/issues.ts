/**
 * @module lib/issues
 * valibot issues as one line of text naming each bad field: the form every config
 * error and every rejected file entry takes (`field: message; field2: message`), and
 * `show`, how a message quotes the value it got.
 */

import * as v from "valibot";

/** A value as a message shows it: strings quoted, objects as JSON. */
export const show = (x: unknown): string =>
  typeof x === "string" || (typeof x === "object" && x !== null) ? (JSON.stringify(x) ?? String(x)) : String(x);

/** ` (got VALUE)`, the tail of every message about a bad value. */
export const got = (x: unknown): string => ` (got ${show(x)})`;

/** valibot issues -> one line: `field: message; field2: message`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): { field: string; text: string } {
  const parts: string[] = [];
  let first = "";
  for (const issue of issues) {
    let path = v.getDotPath(issue) ?? "";
    if (issue.kind === "schema" && issue.expected === "never" && path) {
      // strictObject: an unknown key
      parts.push(`${path}: unknown setting`);
      first ||= path;
      continue;
    }
    path ||= "config";
    first ||= path;
    parts.push(`${path}: ${issue.message}`);
  }
  return { field: first, text: parts.join("; ") };
}

