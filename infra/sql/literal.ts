/** A text value as a single-quoted SQL literal: every SQL source here quotes values through this one function. */
export const sqlLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;
