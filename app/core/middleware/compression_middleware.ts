import zlib from 'node:zlib'
import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'

/** Smaller bodies gain less than the encoding header and the work cost. */
const MIN_BYTES = 1024
const COMPRESSIBLE = /^(text\/|application\/(json|javascript|xml|problem\+json)|image\/svg\+xml)/

/**
 * The encoding to answer with: br over gzip (or gzip over br when `prefer`red), neither when
 * refused (q=0) or not offered.
 */
export function pickEncoding(
  acceptEncoding: string | undefined,
  prefer: 'br' | 'gzip' = 'br'
): 'br' | 'gzip' | null {
  const offered = new Map<string, number>()
  for (const part of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';')
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean)
    if (name) offered.set(name, q === undefined ? 1 : Number(q))
  }
  const accepts = (name: string) => (offered.get(name) ?? offered.get('*') ?? 0) > 0
  if (accepts(prefer)) return prefer
  return accepts('br') ? 'br' : accepts('gzip') ? 'gzip' : null
}

/** Bodies assembled from pieces the caller reuses across responses (see `composedBody`). */
const composed = new WeakMap<Uint8Array, Buffer[]>()
/** Each piece as deflate blocks that end byte-aligned, so pieces concatenate; kept while it lives. */
const deflated = new WeakMap<Buffer, Buffer>()
/** gzip member header: deflate, no flags, no time, unknown OS. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])

/**
 * A response body made of pieces, some of them kept by the caller and sent again (the
 * dashboard's cached figures): gzip answers deflate each piece once and stitch them, so a page
 * around ~100 KB of unchanged figures compresses only what changed. The same bytes otherwise.
 */
export function composedBody(pieces: Buffer[]): Buffer {
  const body = Buffer.concat(pieces)
  composed.set(body, pieces)
  return body
}

function deflatedPiece(piece: Buffer) {
  return zlib.deflateRawSync(piece, { level: 1, finishFlush: zlib.constants.Z_SYNC_FLUSH })
}

/**
 * A small piece as a stored (uncompressed) deflate block: a zlib stream costs ~50 µs to set up,
 * more than a few hundred bytes gain from compression. Header byte (not final, stored), then the
 * length and its complement, then the bytes.
 */
function storedBlock(piece: Buffer) {
  if (!piece.length) return Buffer.alloc(0)
  const header = Buffer.from([0, 0, 0, 0, 0])
  header.writeUInt16LE(piece.length, 1)
  header.writeUInt16LE(~piece.length & 0xffff, 3)
  return Buffer.concat([header, piece])
}

/** One gzip member from the pieces' deflate streams, closed by an empty final block. */
export function stitchedGzip(pieces: Buffer[]): Buffer {
  const parts: Buffer[] = [GZIP_HEADER]
  let crc = 0
  let size = 0
  for (const piece of pieces) {
    let bytes = deflated.get(piece)
    if (!bytes) {
      bytes = piece.length < MIN_BYTES ? storedBlock(piece) : deflatedPiece(piece)
      deflated.set(piece, bytes)
    }
    parts.push(bytes)
    crc = zlib.crc32(piece, crc)
    size += piece.length
  }
  // Final fixed-Huffman block holding only end-of-block (BFINAL=1), then CRC-32 and size mod 2^32.
  const trailer = Buffer.from([0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  trailer.writeUInt32LE(crc >>> 0, 2)
  trailer.writeUInt32LE(size % 2 ** 32, 6)
  parts.push(trailer)
  return Buffer.concat(parts)
}

/**
 * Compresses text bodies of GET responses (pages, fragments, assets): a 90-day dashboard is
 * ~110 KB of HTML and ~16 KB as Brotli at its fastest quality. Streams (CSV exports, event streams)
 * pass through untouched. GET only: responses to forms may show a one-time secret next to what
 * was typed, the pattern BREACH needs; pages carry CSRF tokens that are salted per response.
 */
export default class CompressionMiddleware {
  async handle(ctx: HttpContext, next: NextFn) {
    await next()
    const { request, response } = ctx
    if (request.method() !== 'GET' || !response.hasContent || response.hasStream) return
    const status = response.getStatus()
    if (status < 200 || status === 204 || status >= 300 || response.getHeader('content-encoding'))
      return
    const body = response.getBody()
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return
    const type = String(response.getHeader('content-type') ?? '')
    if (type ? !COMPRESSIBLE.test(type) : typeof body !== 'string') return
    response.append('vary', 'Accept-Encoding')
    const pieces = typeof body === 'string' ? undefined : composed.get(body)
    // Composed bodies prefer gzip: their unchanged pieces are compressed already.
    const encoding = pickEncoding(request.header('accept-encoding'), pieces ? 'gzip' : 'br')
    if (!encoding) return
    const bytes = typeof body === 'string' ? Buffer.from(body) : body
    if (bytes.length < MIN_BYTES) return
    // Fastest settings, in one synchronous pass: a 110 KB page takes ~0.2 ms and shrinks ~7×;
    // through the thread pool, the chunked round trips cost the event loop more than that.
    const compressed =
      pieces && encoding === 'gzip'
        ? stitchedGzip(pieces)
        : encoding === 'br'
          ? zlib.brotliCompressSync(bytes, {
              params: {
                [zlib.constants.BROTLI_PARAM_QUALITY]: 1,
                [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
              },
            })
          : zlib.gzipSync(bytes, { level: 1 })
    // What the body would have been labelled as a string (the response calls a Buffer a script).
    if (!type)
      response.header(
        'content-type',
        String(body).trimStart().startsWith('<')
          ? 'text/html; charset=utf-8'
          : 'text/plain; charset=utf-8'
      )
    response.header('content-encoding', encoding)
    response.send(compressed, response.content?.[1])
  }
}
