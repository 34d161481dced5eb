/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled.
 * Free text that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with '.
 */
export function csvField(value: unknown, freeText = false): string {
  let text = value === null || value === undefined ? '' : String(value)
  if (freeText && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/**
 * CSV text for a stream: the header line, then the rows' lines gathered into chunks of about
 * 64 KB (one write per chunk rather than per row keeps a million-row export cheap).
 */
export async function* csvChunks<T>(
  header: readonly string[],
  rows: AsyncIterable<T>,
  line: (row: T) => string
): AsyncGenerator<string> {
  let chunk = header.join(',') + '\r\n'
  for await (const row of rows) {
    chunk += line(row)
    if (chunk.length >= 65_536) {
      yield chunk
      chunk = ''
    }
  }
  if (chunk) yield chunk
}
