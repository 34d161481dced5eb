/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled.
 * Free text that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with '.
 */
export function csvField(value: unknown, freeText = false): string {
  let text = value === null || value === undefined ? '' : String(value)
  if (freeText && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
