import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { test } from '@japa/runner'
import fc from 'fast-check'
import { getDocumentProxy } from 'unpdf'
import {
  DocumentError,
  MAX_DOCUMENT_BYTES,
  detectKind,
  extractText,
  type DocumentKind,
} from '#agents/knowledge/extract'
import { chunkText } from '#agents/knowledge/chunk'

const UNSUPPORTED = 'is not a supported type (text, Markdown, CSV or PDF).'

// ---------------------------------------------------------------------------------------------
// Test PDFs, built byte by byte (no binary fixtures): catalog, pages, one page + content stream
// per entry, Helvetica, an optional ToUnicode CMap, and an optional standard security handler
// (V 1, R 2, 40-bit RC4) with real /O and /U values, so the encrypted file opens with its
// password and only the password is missing.
// ---------------------------------------------------------------------------------------------

const PASSWORD_PAD = Buffer.from(
  '28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A',
  'hex'
)

function rc4(key: Buffer, data: Buffer): Buffer {
  const s = Array.from({ length: 256 }, (_, i) => i)
  let j = 0
  for (let i = 0; i < 256; i++) {
    j = (j + s[i] + key[i % key.length]) & 255
    ;[s[i], s[j]] = [s[j], s[i]]
  }
  const out = Buffer.alloc(data.length)
  let i = 0
  j = 0
  for (let k = 0; k < data.length; k++) {
    i = (i + 1) & 255
    j = (j + s[i]) & 255
    ;[s[i], s[j]] = [s[j], s[i]]
    out[k] = data[k] ^ s[(s[i] + s[j]) & 255]
  }
  return out
}

const md5 = (...parts: Buffer[]) => createHash('md5').update(Buffer.concat(parts)).digest()
const padPassword = (password: string) =>
  Buffer.concat([Buffer.from(password, 'latin1'), PASSWORD_PAD]).subarray(0, 32)
const escapePdfString = (text: string) => text.replace(/[\\()]/g, (char) => `\\${char}`)

type PdfOptions = {
  encrypt?: { user: string; owner: string }
  /** `bfchar` lines for a ToUnicode CMap on the font, e.g. '<42> <0000>'. */
  toUnicode?: string[]
}

function buildPdf(pages: (string | null)[], options: PdfOptions = {}): Uint8Array {
  const fileId = Buffer.from('0123456789abcdef0123456789abcdef', 'hex')
  const permissions = -64
  let fileKey: Buffer | undefined
  let encryptDictionary = ''
  if (options.encrypt) {
    const { user, owner } = options.encrypt
    const o = rc4(md5(padPassword(owner)).subarray(0, 5), padPassword(user))
    const p = Buffer.alloc(4)
    p.writeInt32LE(permissions)
    fileKey = md5(padPassword(user), o, p, fileId).subarray(0, 5)
    const u = rc4(fileKey, PASSWORD_PAD)
    encryptDictionary =
      `<< /Filter /Standard /V 1 /R 2 /Length 40 /O <${o.toString('hex')}> ` +
      `/U <${u.toString('hex')}> /P ${permissions} >>`
  }

  const objects: (string | Buffer)[] = [] // index = object number
  const stream = (id: number, data: string) => {
    let body: Buffer = Buffer.from(data, 'latin1')
    if (fileKey) {
      const salt = Buffer.from([id & 255, (id >> 8) & 255, (id >> 16) & 255, 0, 0])
      body = rc4(md5(fileKey, salt).subarray(0, 10), body)
    }
    return Buffer.concat([
      Buffer.from(`<< /Length ${body.length} >>\nstream\n`),
      body,
      Buffer.from('\nendstream'),
    ])
  }

  const fontId = 3 + pages.length * 2
  const pageIds = pages.map((_, index) => 3 + index * 2)
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>'
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`
  pages.forEach((text, index) => {
    const id = pageIds[index]
    objects[id] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] ` +
      `/Resources << /Font << /F1 ${fontId} 0 R >> >> /Contents ${id + 1} 0 R >>`
    const content = text === null ? '' : `BT /F1 12 Tf 72 712 Td (${escapePdfString(text)}) Tj ET`
    objects[id + 1] = stream(id + 1, content)
  })
  let nextId = fontId + 1
  let toUnicode = ''
  if (options.toUnicode) {
    const cmapId = nextId++
    toUnicode = ` /ToUnicode ${cmapId} 0 R`
    objects[cmapId] = stream(
      cmapId,
      [
        '/CIDInit /ProcSet findresource begin 12 dict begin begincmap',
        '/CMapName /Test def /CMapType 2 def',
        '1 begincodespacerange <00> <FF> endcodespacerange',
        `${options.toUnicode.length} beginbfchar`,
        ...options.toUnicode,
        'endbfchar endcmap CMapName currentdict /CMap defineresource pop end end',
      ].join('\n')
    )
  }
  objects[fontId] = `<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica${toUnicode} >>`
  const encryptId = options.encrypt ? nextId++ : 0
  if (options.encrypt) objects[encryptId] = encryptDictionary

  const parts = [Buffer.from('%PDF-1.4\n%\xE2\xE3\xCF\xD3\n', 'latin1')]
  let offset = parts[0].length
  const offsets: number[] = []
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = offset
    const object = objects[id]
    const part = Buffer.concat([
      Buffer.from(`${id} 0 obj\n`),
      typeof object === 'string' ? Buffer.from(object, 'latin1') : object,
      Buffer.from('\nendobj\n'),
    ])
    parts.push(part)
    offset += part.length
  }
  const id = fileId.toString('hex')
  const xref = [
    'xref',
    `0 ${objects.length}`,
    '0000000000 65535 f ',
    ...offsets.slice(1).map((at) => `${String(at).padStart(10, '0')} 00000 n `),
    'trailer',
    `<< /Size ${objects.length} /Root 1 0 R${encryptId ? ` /Encrypt ${encryptId} 0 R` : ''} ` +
      `/ID [<${id}> <${id}>] >>`,
    'startxref',
    String(offset),
    '%%EOF',
    '',
  ].join('\n')
  parts.push(Buffer.from(xref, 'latin1'))
  return new Uint8Array(Buffer.concat(parts))
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'))
const bytesOf = (...values: number[]) => new Uint8Array(values)
const PNG = bytesOf(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48)

/** A ZIP local file header for one entry (enough for the signature and the entry name). */
function zip(entry: string): Uint8Array {
  const header = Buffer.alloc(30)
  header.writeUInt32LE(0x04034b50, 0)
  header.writeUInt16LE(20, 4)
  header.writeUInt16LE(Buffer.byteLength(entry), 26)
  return new Uint8Array(Buffer.concat([header, Buffer.from(entry), Buffer.from('<xml/>')]))
}

async function documentError(work: () => unknown): Promise<string> {
  try {
    await work()
  } catch (error) {
    if (error instanceof DocumentError) return error.message
    throw error
  }
  throw new Error('expected a DocumentError')
}

async function read(text: string, name: string, type?: string) {
  const bytes = utf8(text)
  const kind = detectKind(bytes, name, type)
  return { kind, text: await extractText(bytes, kind) }
}

// ---------------------------------------------------------------------------------------------
// Kind detection
// ---------------------------------------------------------------------------------------------

test.group('agents / knowledge: detecting the kind by content', () => {
  test('the name and declared type only choose between the text kinds', ({ assert }) => {
    const cases: [string, string | null, DocumentKind][] = [
      ['notes.txt', null, 'text'],
      ['notes', null, 'text'],
      ['README.md', null, 'markdown'],
      ['guide.MARKDOWN', 'text/plain', 'markdown'],
      ['upload', 'text/markdown; charset=utf-8', 'markdown'],
      ['data.csv', null, 'csv'],
      ['export', 'text/csv', 'csv'],
      ['data.csv', 'application/vnd.ms-excel', 'csv'],
      ['notes.txt', 'text/csv', 'text'],
      // Content decides: text in a file named .pdf is text.
      ['report.pdf', 'application/pdf', 'text'],
    ]
    for (const [name, type, kind] of cases) {
      assert.equal(detectKind(utf8('a,b\n1,2\n'), name, type), kind, `${name} ${type}`)
    }
  })

  test('%PDF- magic is a PDF whatever the name says', ({ assert }) => {
    assert.equal(detectKind(buildPdf(['x']), 'notes.txt', 'text/plain'), 'pdf')
    assert.equal(detectKind(buildPdf(['x']), 'scan', null), 'pdf')
  })

  test('a PNG renamed .pdf or .txt is rejected as a PNG', async ({ assert }) => {
    for (const name of ['photo.pdf', 'photo.txt']) {
      assert.equal(
        await documentError(() => detectKind(PNG, name, 'application/pdf')),
        `"${name}" (a PNG image) ${UNSUPPORTED}`
      )
    }
  })

  test('archives, Office files, images and executables are named in the message', async ({
    assert,
  }) => {
    const cases: [Uint8Array, string][] = [
      [zip('notes/readme.txt'), 'a ZIP archive'],
      [zip('word/document.xml'), 'a Word document'],
      [zip('xl/workbook.xml'), 'an Excel workbook'],
      [new Uint8Array(gzipSync('hello')), 'a gzip archive'],
      [bytesOf(0xff, 0xd8, 0xff, 0xe0, 0, 16), 'a JPEG image'],
      [utf8('GIF89a\x01\x00'), 'a GIF image'],
      [bytesOf(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0), 'an executable'],
      [bytesOf(0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0), 'a WebAssembly module'],
      [bytesOf(0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1), 'an old-format Office document'],
    ]
    for (const [bytes, label] of cases) {
      const message = await documentError(() => detectKind(bytes, 'upload.txt'))
      assert.include(message, `(${label}`)
      assert.include(message, UNSUPPORTED)
    }

    const pe = new Uint8Array(0x80)
    pe.set([0x4d, 0x5a])
    pe.set([0x40], 0x3c)
    pe.set([0x50, 0x45, 0, 0], 0x40)
    assert.include(await documentError(() => detectKind(pe, 'setup.txt')), 'a Windows executable')
    // "MZ" alone is just text.
    assert.equal(detectKind(utf8('MZ is a postcode'), 'a.txt'), 'text')
  })

  test('unknown binary, UTF-16 and non-UTF-8 text are rejected with a useful message', async ({
    assert,
  }) => {
    const binary = new Uint8Array(256).map((_, i) => (i * 37) & 255)
    assert.equal(
      await documentError(() => detectKind(binary, 'blob.bin')),
      `"blob.bin" ${UNSUPPORTED}`
    )
    assert.equal(
      await documentError(() => detectKind(utf8('text\0with NUL'), 'a.txt')),
      `"a.txt" ${UNSUPPORTED}`
    )
    assert.equal(
      await documentError(() =>
        detectKind(new Uint8Array(Buffer.from('\uFEFFhi', 'utf16le')), 'u.txt')
      ),
      '"u.txt" is UTF-16 text; save it as UTF-8 and upload it again.'
    )
    assert.equal(
      await documentError(() =>
        detectKind(new Uint8Array(Buffer.from('café crème', 'latin1')), 'l.txt')
      ),
      '"l.txt" is not UTF-8 text; save it as UTF-8 and upload it again.'
    )
  })

  test('too big, empty and whitespace-only files are rejected', async ({ assert }) => {
    assert.equal(
      await documentError(() => detectKind(new Uint8Array(MAX_DOCUMENT_BYTES + 1), 'big.txt')),
      '"big.txt" is too large (10.0 MB); the limit is 10 MB.'
    )
    assert.equal(detectKind(new Uint8Array(MAX_DOCUMENT_BYTES).fill(0x61), 'max.txt'), 'text')
    assert.equal(
      await documentError(() => detectKind(new Uint8Array(), 'e.txt')),
      '"e.txt" is empty.'
    )
    assert.equal(
      await documentError(() => detectKind(utf8(' \n\t\r\n '), 'w.md')),
      '"w.md" is empty.'
    )
    assert.equal(
      await documentError(() => detectKind(utf8('\uFEFF  '), 'b.txt')),
      '"b.txt" is empty.'
    )
  })

  test('names in messages are reduced to a short base name', async ({ assert }) => {
    assert.equal(
      await documentError(() => detectKind(PNG, 'C:\\Users\\me\\pic\u0000.pdf')),
      `"pic.pdf" (a PNG image) ${UNSUPPORTED}`
    )
    assert.match(await documentError(() => detectKind(PNG, `${'x'.repeat(200)}.png`)), /^"x{79}…" /)
    assert.match(await documentError(() => detectKind(PNG, '')), /^This file \(a PNG image\)/)
  })

  test('a .csv must parse with a consistent column count', async ({ assert }) => {
    assert.equal(
      await documentError(() => detectKind(utf8('a,b,c\n1,2,3\n4,5\n'), 'd.csv')),
      '"d.csv" is not valid CSV: line 3 has 2 columns, expected 3.'
    )
    assert.equal(
      await documentError(() => detectKind(utf8('a,b\n"1,2\n'), 'd.csv')),
      '"d.csv" is not valid CSV: the quoted field starting on line 2 is never closed.'
    )
    assert.equal(
      await documentError(() => detectKind(utf8('a,b\n"1"x,2\n'), 'd.csv')),
      '"d.csv" is not valid CSV: unexpected text after a closing quote on line 2.'
    )
    assert.equal(
      await documentError(() => detectKind(utf8('name,age\n'), 'd.csv')),
      '"d.csv" has no data rows.'
    )
    // Line numbers count physical lines, including newlines inside quoted fields.
    assert.include(
      await documentError(() => detectKind(utf8('a,b\n"x\ny",1\n1,2,3\n'), 'd.csv')),
      'line 4 has 3 columns'
    )
    // The same content named .txt is just text.
    assert.equal(detectKind(utf8('a,b,c\n1,2,3\n4,5\n'), 'd.txt'), 'text')
  })
})

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

test.group('agents / knowledge: extracting text', () => {
  test('text and Markdown come back as is, newlines normalised and the BOM stripped', async ({
    assert,
  }) => {
    assert.deepEqual(await read('\uFEFFline one\r\nline two\rline three\n', 'a.txt'), {
      kind: 'text',
      text: 'line one\nline two\nline three\n',
    })
    const markdown = '# Title\n\n- item *one*\n- item `two`\n\n| a | b |\n|---|---|\n'
    assert.deepEqual(await read(markdown, 'doc.md'), { kind: 'markdown', text: markdown })
    assert.equal((await read('héllo wörld ✓ 😀', 'u.txt')).text, 'héllo wörld ✓ 😀')
  })

  test('CSV becomes one "header: value" line per row, with RFC 4180 quoting', async ({
    assert,
  }) => {
    const csv = [
      'name,"city, country",notes',
      'Ada,"London, UK","Said ""hello""\r\nthen left"',
      '',
      ' "Bob" ,Paris,',
      'Cy,,',
      ',,',
      '"",Rome,"a,b"',
      '',
    ].join('\r\n')
    const { kind, text } = await read(csv, 'people.csv')
    assert.equal(kind, 'csv')
    assert.equal(
      text,
      [
        'name: Ada; city, country: London, UK; notes: Said "hello" then left',
        'name: Bob; city, country: Paris',
        'name: Cy',
        'city, country: Rome; notes: a,b',
      ].join('\n')
    )
  })

  test('CSV headers that are empty get a column number', async ({ assert }) => {
    assert.equal((await read('id,\n1,x\n', 'a.csv')).text, 'id: 1; column 2: x')
    assert.equal((await read('just one column\nvalue\n', 'a.csv')).text, 'just one column: value')
  })

  test('NUL bytes become U+FFFD when text is extracted directly', async ({ assert }) => {
    assert.equal(await extractText(utf8('a\0b'), 'text'), 'a\uFFFDb')
    assert.equal(
      await documentError(() => extractText(new Uint8Array(MAX_DOCUMENT_BYTES + 1), 'pdf')),
      'This file is too large; the limit is 10 MB.'
    )
    assert.equal(
      await documentError(() => extractText(new Uint8Array([0xc3, 0x28]), 'text')),
      'This file is not UTF-8 text; save it as UTF-8 and upload it again.'
    )
    assert.equal(
      await documentError(() => extractText(utf8('  \n'), 'markdown')),
      'This file is empty.'
    )
    assert.equal(
      await documentError(() => extractText(utf8('a,b\n1\n'), 'csv')),
      'This file is not valid CSV: line 2 has 1 column, expected 2.'
    )
  })

  test('a one-page PDF', async ({ assert }) => {
    const bytes = buildPdf(['Hello knowledge'])
    assert.equal(detectKind(bytes, 'doc.pdf'), 'pdf')
    assert.equal(await extractText(bytes, 'pdf'), 'Hello knowledge')
  })

  test('a two-page PDF joins its pages with a blank line; blank pages are skipped', async ({
    assert,
  }) => {
    assert.equal(
      await extractText(buildPdf(['Hello knowledge', null, 'Second (page) \\ done']), 'pdf'),
      'Hello knowledge\n\nSecond (page) \\ done'
    )
  })

  test('the caller keeps its buffer (it is copied to the worker, not transferred)', async ({
    assert,
  }) => {
    const bytes = buildPdf(['Hello knowledge'])
    const length = bytes.byteLength
    await extractText(bytes, 'pdf')
    assert.equal(bytes.byteLength, length)
    assert.equal(await extractText(bytes, 'pdf'), 'Hello knowledge')
  })

  test('NUL characters in PDF text become U+FFFD', async ({ assert }) => {
    const bytes = buildPdf(['xBz'], { toUnicode: ['<42> <0000>'] })
    assert.equal(await extractText(bytes, 'pdf'), 'x\uFFFDz')
  })

  test('a PDF without extractable text (a scan) is rejected', async ({ assert }) => {
    assert.equal(
      await documentError(() => extractText(buildPdf([null, null]), 'pdf')),
      'This PDF has no extractable text (it may be a scan); upload a PDF with selectable text.'
    )
  })

  test('malformed PDFs are rejected: truncated, garbage after %PDF-, just the magic', async ({
    assert,
  }) => {
    const whole = buildPdf(['Hello knowledge', 'Second page'])
    const malformed = [
      whole.slice(0, Math.floor(whole.length / 2)),
      utf8('%PDF-1.7\nthis is not a PDF at all, just text after the header\n'),
      utf8('%PDF-'),
      new Uint8Array([
        ...utf8('%PDF-1.4\n'),
        ...new Uint8Array(4096).map((_, i) => (i * 131) & 255),
      ]),
    ]
    for (const bytes of malformed) {
      assert.equal(detectKind(bytes, 'broken.pdf'), 'pdf')
      assert.match(
        await documentError(() => extractText(bytes, 'pdf')),
        /^This PDF could not be read: .+\.$/
      )
    }
  })

  test('an encrypted PDF asks for a password and is rejected as encrypted', async ({ assert }) => {
    const bytes = buildPdf(['Hello knowledge'], { encrypt: { user: 'secret', owner: 'owner' } })
    assert.equal(detectKind(bytes, 'locked.pdf'), 'pdf')
    assert.equal(
      await documentError(() => extractText(bytes, 'pdf')),
      'This PDF is encrypted; upload an unprotected copy.'
    )

    // The fixture is a genuine encrypted PDF: with the password, pdf.js reads it.
    const pdf = await getDocumentProxy(bytes.slice(), { password: 'secret', verbosity: 0 })
    try {
      const content = await (await pdf.getPage(1)).getTextContent()
      assert.deepEqual(
        content.items.map((item) => ('str' in item ? item.str : '')),
        ['Hello knowledge']
      )
    } finally {
      await pdf.loadingTask.destroy()
    }
  })

  test('PDF extraction is bounded in time', async ({ assert }) => {
    assert.equal(
      await documentError(() =>
        extractText(buildPdf(['Hello knowledge']), 'pdf', { timeoutMs: 1 })
      ),
      'This PDF could not be read: it took too long to process.'
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Chunking
// ---------------------------------------------------------------------------------------------

function words(count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => `w${from + i}`).join(' ')
}

/** Sentences of ~60 characters with unique words, so every word can be found again. */
function sentences(count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => `${words(10, (from + i) * 10)}.`).join(' ')
}

function sharedLength(previous: string, next: string): number {
  for (let length = Math.min(previous.length, next.length); length > 0; length--) {
    if (previous.endsWith(next.slice(0, length))) return length
  }
  return 0
}

test.group('agents / knowledge: chunking', () => {
  test('empty and whitespace-only input gives no chunks; short input one chunk', ({ assert }) => {
    assert.deepEqual(chunkText(''), [])
    assert.deepEqual(chunkText(' \n\n\t  '), [])
    assert.deepEqual(chunkText('  Hello there.  \n'), [{ position: 0, text: 'Hello there.' }])
  })

  test('chunks respect the size, carry an overlap and cover every word', ({ assert }) => {
    const text = sentences(100)
    const chunks = chunkText(text)
    assert.isAbove(chunks.length, 6)
    chunks.forEach((chunk, index) => {
      assert.equal(chunk.position, index)
      assert.isAtMost(chunk.text.length, 1000)
      if (index < chunks.length - 1) assert.isAbove(chunk.text.length, 500)
    })
    for (let i = 1; i < chunks.length; i++) {
      const shared = sharedLength(chunks[i - 1].text, chunks[i].text)
      assert.isAtLeast(shared, 150)
      assert.isAtMost(shared, 200)
    }
    const all = chunks.map((chunk) => chunk.text).join(' ')
    for (let i = 0; i < 1000; i++) assert.match(all, new RegExp(`\\bw${i}\\b`))
  })

  test('with no overlap the chunks rebuild the words exactly', ({ assert }) => {
    const text = words(2000)
    const chunks = chunkText(text, { size: 100, overlap: 0 })
    assert.equal(chunks.map((chunk) => chunk.text).join(' '), text)
  })

  test('cuts prefer paragraph breaks, then sentence ends', ({ assert }) => {
    const paragraphs = Array.from({ length: 12 }, (_, i) => sentences(4, i * 4))
    const chunks = chunkText(paragraphs.join('\n\n'), { size: 1000, overlap: 100 })
    for (const chunk of chunks) {
      assert.isTrue(
        paragraphs.some((paragraph) => chunk.text.endsWith(paragraph)),
        `chunk ends mid-paragraph: …${chunk.text.slice(-40)}`
      )
    }

    const prose = chunkText(sentences(60), { size: 500, overlap: 50 })
    for (const chunk of prose) assert.isTrue(chunk.text.endsWith('.'), chunk.text.slice(-20))
    // Decimals and similar are not sentence ends.
    const numbers = chunkText(`${'Pi is 3.14159 and e is 2.71828 roughly '.repeat(10)}end`, {
      size: 100,
      overlap: 0,
    })
    for (const chunk of numbers) assert.notMatch(chunk.text, /\d\.$/)
  })

  test('lines are preferred to spaces when there is no sentence end', ({ assert }) => {
    const rows = Array.from({ length: 50 }, (_, i) => `id: ${i}; name: item ${i}; price: ${i}0`)
    const chunks = chunkText(rows.join('\n'), { size: 200, overlap: 0 })
    for (const chunk of chunks) {
      for (const line of chunk.text.split('\n')) assert.include(rows, line)
    }
  })

  test('long words without spaces are still split at the size', ({ assert }) => {
    const chunks = chunkText('a'.repeat(2500))
    assert.deepEqual(
      chunks.map((chunk) => chunk.text.length),
      [1000, 1000, 900]
    )
    const url = `https://example.com/${'x'.repeat(3000)} tail`
    for (const chunk of chunkText(url, { size: 300, overlap: 50 })) {
      assert.isAtMost(chunk.text.length, 300)
    }
  })

  test('unicode is safe: no split surrogate pairs, combining marks or ZWJ sequences', ({
    assert,
  }) => {
    for (const size of [99, 100, 101]) {
      const emoji = chunkText('😀'.repeat(1500), { size, overlap: 21 })
      assert.isAbove(emoji.length, 20)
      for (const chunk of emoji) {
        assert.isTrue(chunk.text.isWellFormed())
        assert.isAtMost(chunk.text.length, size)
      }
    }
    for (const chunk of chunkText('e\u0301'.repeat(500), { size: 51, overlap: 10 })) {
      assert.notMatch(chunk.text, /^\p{M}/u)
    }
    for (const chunk of chunkText('👩‍💻'.repeat(300), { size: 50, overlap: 7 })) {
      assert.isTrue(chunk.text.isWellFormed())
      assert.isFalse(chunk.text.startsWith('\u200D') || chunk.text.endsWith('\u200D'))
    }
  })

  test('any input: bounded, non-empty, trimmed, well-formed, deterministic', ({ assert }) => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('a', 'b', ' ', '\n', '.', '😀', 'é', '\u0301', '。'),
          maxLength: 400,
        }),
        fc.integer({ min: 2, max: 120 }),
        fc.nat(),
        (text, size, seed) => {
          const overlap = seed % size
          const chunks = chunkText(text, { size, overlap })
          if (text.trim() === '') assert.deepEqual(chunks, [])
          chunks.forEach((chunk, index) => {
            assert.equal(chunk.position, index)
            assert.isAtMost(chunk.text.length, size)
            assert.notEqual(chunk.text, '')
            assert.equal(chunk.text, chunk.text.trim())
            assert.isTrue(chunk.text.isWellFormed())
            assert.include(text, chunk.text)
          })
          assert.deepEqual(chunkText(text, { size, overlap }), chunks)
        }
      ),
      { numRuns: 500 }
    )
  })

  test('invalid options are refused', ({ assert }) => {
    assert.throws(() => chunkText('x', { size: 0 }), RangeError)
    assert.throws(() => chunkText('x', { size: 10, overlap: 10 }), RangeError)
    assert.throws(() => chunkText('x', { size: 10, overlap: -1 }), RangeError)
    assert.throws(() => chunkText('x', { size: 1.5 }), RangeError)
  })
})
