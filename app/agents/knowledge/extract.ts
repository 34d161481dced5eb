import { Worker } from 'node:worker_threads'

/*
 * Turns an uploaded file into plain text for the knowledge index. Pure: bytes in, text out.
 *
 * The kind is decided by content (magic bytes, UTF-8 validity), never trusted from the name: the
 * name and declared MIME type only choose between the text flavours. Every rejection is a
 * DocumentError whose message is shown to the user as is.
 */

export type DocumentKind = 'text' | 'markdown' | 'csv' | 'pdf'

/** A problem with the uploaded file itself; the message is meant for the user. */
export class DocumentError extends Error {
  name = 'DocumentError'
}

export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

/** Hard limit on PDF extraction; the worker running it is terminated when it is reached. */
export const PDF_TIMEOUT_MS = 20_000

/** A 10 MB PDF can inflate to far more text than that; beyond this it is not worth indexing. */
export const MAX_PDF_TEXT_CHARS = 20_000_000

/** Heap cap for the PDF worker, so a decompression bomb kills the worker, not the server. */
const PDF_WORKER_HEAP_MB = 512

const SUPPORTED = 'is not a supported type (text, Markdown, CSV or PDF).'

// ---------------------------------------------------------------------------------------------
// Kind detection
// ---------------------------------------------------------------------------------------------

/**
 * The kind, by content: `%PDF-` is a PDF; otherwise the bytes must be UTF-8 text (BOM allowed),
 * and only then do the name and declared type pick text, Markdown or CSV (which must parse).
 * Throws a DocumentError for anything too large, empty, binary or malformed.
 */
export function detectKind(
  bytes: Uint8Array,
  name: string,
  declaredType?: string | null
): DocumentKind {
  const subject = quoteName(name)

  if (bytes.byteLength > MAX_DOCUMENT_BYTES) {
    const mb = (bytes.byteLength / 1024 / 1024).toFixed(1)
    throw new DocumentError(
      `${subject} is too large (${mb} MB); the limit is ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB.`
    )
  }
  if (bytes.byteLength === 0) throw new DocumentError(`${subject} is empty.`)

  if (startsWith(bytes, PDF_MAGIC)) return 'pdf'

  const binary = binarySignature(bytes)
  if (binary) throw new DocumentError(`${subject} (${binary}) ${SUPPORTED}`)

  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) {
    throw new DocumentError(`${subject} is UTF-16 text; save it as UTF-8 and upload it again.`)
  }

  const text = decodeUtf8(bytes)
  if (text === null) {
    if (looksBinary(bytes)) throw new DocumentError(`${subject} ${SUPPORTED}`)
    throw new DocumentError(`${subject} is not UTF-8 text; save it as UTF-8 and upload it again.`)
  }
  if (text.includes('\0') || looksBinary(bytes)) {
    throw new DocumentError(`${subject} ${SUPPORTED}`)
  }
  if (text.trim() === '') throw new DocumentError(`${subject} is empty.`)

  const kind = textKind(name, declaredType)
  if (kind === 'csv') {
    try {
      if (csvToText(normaliseNewlines(text)) === '') {
        throw new DocumentError(`${subject} has no data rows.`)
      }
    } catch (error) {
      if (error instanceof CsvError) {
        throw new DocumentError(`${subject} is not valid CSV: ${error.message}.`)
      }
      throw error
    }
  }
  return kind
}

const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d] // %PDF-

function textKind(name: string, declaredType?: string | null): DocumentKind {
  const extension = /\.([a-z0-9]+)$/i.exec(name.trim())?.[1]?.toLowerCase()
  if (extension === 'csv') return 'csv'
  if (extension && ['md', 'markdown', 'mdown', 'mkd', 'mkdn'].includes(extension)) return 'markdown'
  if (extension === 'txt' || extension === 'text') return 'text'

  const type = declaredType?.split(';')[0]?.trim().toLowerCase()
  if (type === 'text/csv' || type === 'application/csv' || type === 'text/x-csv') return 'csv'
  if (type === 'text/markdown' || type === 'text/x-markdown') return 'markdown'
  return 'text'
}

/** The name as shown in messages: base name only, no control characters, bounded length. */
function quoteName(name: string): string {
  const base = (name.split(/[\\/]/).pop() ?? '').replace(/[\p{Cc}\p{Cf}]/gu, '').trim()
  if (base === '') return 'This file'
  const chars = [...base]
  return `"${chars.length > 80 ? `${chars.slice(0, 79).join('')}…` : base}"`
}

function startsWith(bytes: Uint8Array, prefix: number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false
  return prefix.every((byte, index) => bytes[at + index] === byte)
}

function ascii(text: string): number[] {
  return [...text].map((char) => char.charCodeAt(0))
}

/** A label for well-known binary formats, so the user learns what they actually uploaded. */
function binarySignature(bytes: Uint8Array): string | null {
  const has = (prefix: number[] | string, at = 0) =>
    startsWith(bytes, typeof prefix === 'string' ? ascii(prefix) : prefix, at)

  if (has([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'a PNG image'
  if (has([0xff, 0xd8, 0xff])) return 'a JPEG image'
  if (has('GIF87a') || has('GIF89a')) return 'a GIF image'
  if (has('RIFF') && has('WEBP', 8)) return 'a WebP image'
  if (has('RIFF') && (has('WAVE', 8) || has('AVI ', 8))) return 'an audio or video file'
  if (has([0x49, 0x49, 0x2a, 0x00]) || has([0x4d, 0x4d, 0x00, 0x2a])) return 'a TIFF image'
  if (has([0x00]) && has('ftyp', 4)) return 'a video or HEIC image'
  if (has('ID3') && bytes.length > 3 && bytes[3] <= 4) return 'an MP3 audio file'
  if (has([0x4f, 0x67, 0x67, 0x53, 0x00]) || has([0x66, 0x4c, 0x61, 0x43, 0x00])) {
    return 'an audio file'
  }
  if (has([0x50, 0x4b, 0x03, 0x04]) || has([0x50, 0x4b, 0x05, 0x06])) return zipLabel(bytes)
  if (has([0x1f, 0x8b])) return 'a gzip archive'
  if (has('BZh') && has([0x31, 0x41, 0x59, 0x26, 0x53, 0x59], 4)) return 'a bzip2 archive'
  if (has([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'an xz archive'
  if (has([0x28, 0xb5, 0x2f, 0xfd])) return 'a Zstandard archive'
  if (has([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return 'a 7-Zip archive'
  if (has([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07])) return 'a RAR archive'
  if (has('ustar', 257)) return 'a tar archive'
  if (has([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    return 'an old-format Office document (.doc, .xls or .ppt)'
  }
  if (has([0x7f, 0x45, 0x4c, 0x46])) return 'an executable'
  if (has('MZ') && isPortableExecutable(bytes)) return 'a Windows executable'
  for (const magic of [
    [0xfe, 0xed, 0xfa, 0xce],
    [0xfe, 0xed, 0xfa, 0xcf],
    [0xce, 0xfa, 0xed, 0xfe],
    [0xcf, 0xfa, 0xed, 0xfe],
    [0xca, 0xfe, 0xba, 0xbe],
  ]) {
    if (has(magic)) return 'an executable'
  }
  if (has([0x00, 0x61, 0x73, 0x6d])) return 'a WebAssembly module'
  if (has('SQLite format 3\0')) return 'an SQLite database'
  if (has('{\\rtf')) return 'an RTF document'
  if (has('%!PS-Adobe')) return 'a PostScript file'
  return null
}

function isPortableExecutable(bytes: Uint8Array): boolean {
  if (bytes.length < 0x40) return false
  const offset = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(
    0x3c,
    true
  )
  return startsWith(bytes, [0x50, 0x45, 0x00, 0x00], offset)
}

/** Office Open XML, OpenDocument and EPUB are all ZIP files; their entry names give them away. */
function zipLabel(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.includes('word/')) return 'a Word document'
  if (buffer.includes('xl/')) return 'an Excel workbook'
  if (buffer.includes('ppt/')) return 'a PowerPoint presentation'
  if (buffer.includes('application/epub+zip')) return 'an EPUB book'
  if (buffer.includes('application/vnd.oasis.opendocument')) return 'an OpenDocument file'
  return 'a ZIP archive'
}

/** Strict UTF-8 (BOM stripped); null when the bytes are not valid UTF-8. */
function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    return null
  }
}

/**
 * Text has almost no C0 control bytes besides whitespace (and ESC, for ANSI colours); binary
 * formats are full of them. Real text with a stray control byte (a DOS ^Z) stays text.
 */
function looksBinary(bytes: Uint8Array): boolean {
  let controls = 0
  for (const byte of bytes) {
    if (byte === 0) return true
    if ((byte < 0x09 || (byte > 0x0d && byte < 0x20 && byte !== 0x1b)) && ++controls > 4) {
      if (controls * 50 > bytes.length) return true
    }
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

/** The document's text (see the module comment); `timeoutMs` overrides the PDF time limit. */
export async function extractText(
  bytes: Uint8Array,
  kind: DocumentKind,
  options: { timeoutMs?: number } = {}
): Promise<string> {
  // detectKind has normally refused this already; the guard keeps extractText safe on its own.
  if (bytes.byteLength > MAX_DOCUMENT_BYTES) {
    throw new DocumentError(
      `This file is too large; the limit is ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB.`
    )
  }
  if (kind === 'pdf') return extractPdf(bytes, options.timeoutMs ?? PDF_TIMEOUT_MS)

  const decoded = decodeUtf8(bytes)
  if (decoded === null) {
    throw new DocumentError('This file is not UTF-8 text; save it as UTF-8 and upload it again.')
  }
  const text = sanitise(normaliseNewlines(decoded))
  if (text.trim() === '') throw new DocumentError('This file is empty.')
  if (kind !== 'csv') return text

  try {
    const rows = csvToText(text)
    if (rows === '') throw new DocumentError('This file has no data rows.')
    return rows
  } catch (error) {
    if (error instanceof CsvError) {
      throw new DocumentError(`This file is not valid CSV: ${error.message}.`)
    }
    throw error
  }
}

function normaliseNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n')
}

/** PostgreSQL text cannot hold NUL, and lone surrogates break UTF-8 encoding on the way in. */
function sanitise(text: string): string {
  return text.replaceAll('\0', '\uFFFD').toWellFormed()
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180, with leniency for spaces around quoted fields and quotes inside bare fields)
// ---------------------------------------------------------------------------------------------

class CsvError extends Error {}

type CsvRow = { line: number; fields: string[] }

function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = []
  const length = text.length
  let i = 0
  let line = 1

  while (i < length) {
    const row: CsvRow = { line, fields: [] }
    for (;;) {
      let j = i
      while (text[j] === ' ' || text[j] === '\t') j++
      if (text[j] === '"') {
        const openedOn = line
        let field = ''
        i = j + 1
        for (;;) {
          const quote = text.indexOf('"', i)
          if (quote === -1) {
            throw new CsvError(`the quoted field starting on line ${openedOn} is never closed`)
          }
          const part = text.slice(i, quote)
          field += part
          line += countNewlines(part)
          if (text[quote + 1] === '"') {
            field += '"'
            i = quote + 2
          } else {
            i = quote + 1
            break
          }
        }
        while (text[i] === ' ' || text[i] === '\t') i++
        if (i < length && text[i] !== ',' && text[i] !== '\n') {
          throw new CsvError(`unexpected text after a closing quote on line ${line}`)
        }
        row.fields.push(field)
      } else {
        let end = i
        while (end < length && text[end] !== ',' && text[end] !== '\n') end++
        row.fields.push(text.slice(i, end))
        i = end
      }
      if (text[i] === ',') {
        i++
        continue
      }
      break
    }
    if (text[i] === '\n') {
      i++
      line++
    }
    // Blank lines carry no row (common at the end of exported files).
    if (!(row.fields.length === 1 && row.fields[0].trim() === '')) rows.push(row)
  }
  return rows
}

function countNewlines(text: string): number {
  let count = 0
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++
  return count
}

/** One line per data row, "header: value; header: value", empty values left out. */
function csvToText(text: string): string {
  const rows = parseCsv(text)
  if (rows.length === 0) return ''
  const width = rows[0].fields.length
  for (const row of rows) {
    if (row.fields.length !== width) {
      const plural = (n: number) => `${n} column${n === 1 ? '' : 's'}`
      throw new CsvError(`line ${row.line} has ${plural(row.fields.length)}, expected ${width}`)
    }
  }

  const clean = (value: string) => value.replace(/\s+/g, ' ').trim()
  const headers = rows[0].fields.map((header, index) => clean(header) || `column ${index + 1}`)
  const lines: string[] = []
  for (const row of rows.slice(1)) {
    const pairs = row.fields
      .map((value, index) => [headers[index], clean(value)])
      .filter(([, value]) => value !== '')
      .map(([header, value]) => `${header}: ${value}`)
    if (pairs.length > 0) lines.push(pairs.join('; '))
  }
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------
// PDF
// ---------------------------------------------------------------------------------------------

/*
 * pdf.js runs in a worker thread: a hostile PDF can spin the CPU synchronously or inflate to
 * gigabytes, and only a separate isolate can be stopped (terminate) and capped (heap limit)
 * without taking the server down with it. Startup costs ~100 ms per document.
 */
const PDF_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
;(async () => {
  let unpdf
  try {
    unpdf = await import(workerData.unpdfUrl)
  } catch (error) {
    parentPort.postMessage({ ok: false, internal: true, message: String(error && error.message) })
    return
  }
  try {
    const pdf = await unpdf.getDocumentProxy(workerData.bytes, {
      verbosity: 0,
      isEvalSupported: false,
    })
    const pages = []
    let total = 0
    for (let number = 1; number <= pdf.numPages; number++) {
      const content = await (await pdf.getPage(number)).getTextContent()
      const text = content.items
        .filter((item) => item.str != null)
        .map((item) => item.str + (item.hasEOL ? '\\n' : ''))
        .join('')
      total += text.length
      if (total > workerData.maxChars) {
        parentPort.postMessage({ ok: false, name: 'TooMuchText', message: '' })
        return
      }
      pages.push(text)
    }
    parentPort.postMessage({ ok: true, pages })
  } catch (error) {
    parentPort.postMessage({
      ok: false,
      name: String((error && error.name) || 'Error'),
      message: String((error && error.message) || ''),
    })
  }
})()
`

type WorkerReply =
  { ok: true; pages: string[] } | { ok: false; internal?: boolean; name?: string; message: string }

async function extractPdf(bytes: Uint8Array, timeoutMs: number): Promise<string> {
  const reply = await runPdfWorker(bytes, timeoutMs)
  if (!reply.ok) throw pdfError(reply)

  const pages = reply.pages
    .map((page) =>
      sanitise(normaliseNewlines(page))
        .replace(/[^\S\n]+\n/g, '\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim()
    )
    .filter((page) => page !== '')
  if (pages.length === 0) {
    throw new DocumentError(
      'This PDF has no extractable text (it may be a scan); upload a PDF with selectable text.'
    )
  }
  return pages.join('\n\n')
}

function runPdfWorker(bytes: Uint8Array, timeoutMs: number): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(PDF_WORKER_SOURCE, {
      eval: true,
      // A copy: the caller keeps its buffer, and a pooled Buffer would drag its whole pool along.
      workerData: {
        bytes: new Uint8Array(bytes),
        unpdfUrl: import.meta.resolve('unpdf'),
        maxChars: MAX_PDF_TEXT_CHARS,
      },
      resourceLimits: { maxOldGenerationSizeMb: PDF_WORKER_HEAP_MB },
      // pdf.js warns on stdout about every quirk of a file; nobody needs those in the server log.
      stdout: true,
      stderr: true,
    })
    worker.stdout.resume()
    worker.stderr.resume()
    let settled = false
    const finish = (outcome: () => void) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      outcome()
      void worker.terminate().catch(() => {}) // best effort; the worker is done either way
    }
    const timer = setTimeout(
      () => finish(() => reject(new DocumentError(readFailure('it took too long to process')))),
      timeoutMs
    )
    worker.once('message', (reply: WorkerReply) => finish(() => resolve(reply)))
    worker.once('error', (error: Error & { code?: string }) =>
      finish(() =>
        reject(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new DocumentError(readFailure('it needs too much memory'))
            : error
        )
      )
    )
    worker.once('exit', (code) =>
      finish(() => reject(new Error(`PDF worker exited (code ${code}) without a result`)))
    )
  })
}

function readFailure(reason: string): string {
  return `This PDF could not be read: ${reason}.`
}

function pdfError(reply: Extract<WorkerReply, { ok: false }>): Error {
  // The worker could not even load unpdf: our fault, not the file's.
  if (reply.internal) return new Error(`PDF extraction is unavailable: ${reply.message}`)
  if (reply.name === 'PasswordException') {
    return new DocumentError('This PDF is encrypted; upload an unprotected copy.')
  }
  if (reply.name === 'TooMuchText') {
    return new DocumentError('This PDF has too much text to index; split it into smaller files.')
  }
  let reason = reply.message.trim().replace(/\.+$/, '')
  if (reason === '' || reason.length > 160) reason = 'the file is damaged or not a valid PDF'
  if (/^[A-Z][a-z]/.test(reason)) reason = reason[0].toLowerCase() + reason.slice(1)
  return new DocumentError(readFailure(reason))
}
