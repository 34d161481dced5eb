/*
 * Splits extracted document text into overlapping chunks for embedding. Lengths are in UTF-16
 * code units (String#length), which bounds the code-point length PostgreSQL sees too.
 */

export type Chunk = { position: number; text: string }

export const DEFAULT_CHUNK_SIZE = 1000
export const DEFAULT_CHUNK_OVERLAP = 200

/**
 * Chunks of at most `size` characters, each starting with up to `overlap` characters from the
 * end of the previous one (from a word start where possible). Cuts prefer a paragraph break,
 * then a sentence end, then a line break, then any whitespace; a run without whitespace is cut
 * hard, but never inside a surrogate pair, before a combining mark or around a ZWJ. (With
 * size 1 an astral character is kept whole, the one case a chunk exceeds `size`.)
 */
export function chunkText(
  text: string,
  options: { size?: number; overlap?: number } = {}
): Chunk[] {
  const size = options.size ?? DEFAULT_CHUNK_SIZE
  const overlap = options.overlap ?? DEFAULT_CHUNK_OVERLAP
  if (!Number.isInteger(size) || size < 1) throw new RangeError('size must be a positive integer')
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= size) {
    throw new RangeError('overlap must be an integer from 0 to size - 1')
  }

  const chunks: Chunk[] = []
  let start = skipWhitespace(text, 0)
  while (start < text.length) {
    const end = start + size >= text.length ? text.length : cutPoint(text, start, size, overlap)
    const piece = text.slice(start, end).trimEnd()
    if (piece !== '') chunks.push({ position: chunks.length, text: piece })
    if (end >= text.length) break
    start = skipWhitespace(text, nextStart(text, start, end, overlap))
  }
  return chunks
}

const PARAGRAPH = /\n[^\S\n]*\n/g
// Western punctuation ends a sentence only before whitespace ("3.5", "e.g" stay whole); CJK
// full stops are not followed by spaces.
const SENTENCE = /[.!?…]+['"’”»)\]]*(?=\s)|[。！？]+[」』”’)）]*/g
const LINE = /\n/g
const SPACE = /\s/g

/** Where the chunk starting at `start` ends (exclusive). */
function cutPoint(text: string, start: number, size: number, overlap: number): number {
  const limit = start + size
  // Not too early (tiny chunks), and past the overlap so the next chunk makes progress.
  const from = Math.min(size, Math.max(Math.floor(size / 2), overlap + 1))
  // One extra character so a sentence end right at the limit can see the space after it.
  const window = text.slice(start, limit + 1)

  const candidates: [RegExp, boolean][] = [
    [PARAGRAPH, false],
    [SENTENCE, true],
    [LINE, false],
    [SPACE, false],
  ]
  for (const [pattern, afterMatch] of candidates) {
    let best = -1
    pattern.lastIndex = 0
    for (let match = pattern.exec(window); match; match = pattern.exec(window)) {
      const cut = afterMatch ? match.index + match[0].length : match.index
      if (cut > size) break
      if (cut >= from) best = cut
      if (match[0] === '') pattern.lastIndex++
    }
    if (best !== -1) return start + best
  }
  return hardCut(text, start, limit)
}

/** The last safe position at or before `limit` (after `start`) in a run without whitespace. */
function hardCut(text: string, start: number, limit: number): number {
  for (let cut = limit; cut > start && cut > limit - 32; cut--) {
    if (canCutAt(text, cut)) return cut
  }
  // Only a surrogate-pair split is never acceptable; step over it.
  if (isPairSplit(text, limit)) return limit - 1 > start ? limit - 1 : limit + 1
  return limit
}

/** Where the next chunk starts: `overlap` characters back, moved forward to a word start. */
function nextStart(text: string, start: number, end: number, overlap: number): number {
  let next = Math.max(end - overlap, start + 1)
  if (next < end && !isSpace(text[next - 1]) && !isSpace(text[next])) {
    const space = text.slice(next, end).search(/\s/)
    if (space !== -1) {
      next += space
    } else {
      while (next < end && !canCutAt(text, next)) next++
    }
  }
  if (isPairSplit(text, next)) next++
  return next
}

function canCutAt(text: string, index: number): boolean {
  if (index <= 0 || index >= text.length) return true
  if (isPairSplit(text, index)) return false
  if (text[index] === '\u200D' || text[index - 1] === '\u200D') return false
  return !/^\p{M}/u.test(text.slice(index, index + 2))
}

function isPairSplit(text: string, index: number): boolean {
  const before = text.charCodeAt(index - 1)
  const after = text.charCodeAt(index)
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff
}

function isSpace(char: string | undefined): boolean {
  return char !== undefined && /\s/.test(char)
}

function skipWhitespace(text: string, index: number): number {
  while (index < text.length && isSpace(text[index])) index++
  return index
}
