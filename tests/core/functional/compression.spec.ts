import { randomBytes } from 'node:crypto'
import zlib from 'node:zlib'
import { test } from '@japa/runner'
import { pickEncoding, stitchedGzip } from '#core/middleware/compression_middleware'
import { rawRequest as raw } from '#tests/helpers/raw_http'

test.group('core / compression', () => {
  test('pages go out as Brotli or gzip when the client takes them, byte for byte the same page', async ({
    assert,
  }) => {
    const plain = await raw('/login')
    assert.equal(plain.status, 200)
    assert.isUndefined(plain.headers['content-encoding'])
    assert.include(plain.headers.vary ?? '', 'Accept-Encoding')
    const page = plain.body.toString()
    // The CSRF token is salted per response (which also keeps it out of BREACH's reach).
    const stable = (html: string) => {
      const token = /name="csrf-token" content="([^"]+)"/.exec(html)![1]
      return html.replaceAll(token, 'TOKEN')
    }

    const br = await raw('/login', { 'accept-encoding': 'gzip, deflate, br' })
    assert.equal(br.headers['content-encoding'], 'br')
    assert.equal(br.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(Number(br.headers['content-length']), br.body.length)
    assert.isBelow(br.body.length, plain.body.length / 2)
    assert.equal(stable(zlib.brotliDecompressSync(br.body).toString()), stable(page))

    const gz = await raw('/login', { 'accept-encoding': 'br;q=0, gzip' })
    assert.equal(gz.headers['content-encoding'], 'gzip')
    assert.equal(stable(zlib.gunzipSync(gz.body).toString()), stable(page))

    // Assets too (served from the installed packages).
    const htmx = await raw('/assets/vendor/htmx.js', { 'accept-encoding': 'br' })
    assert.equal(htmx.headers['content-encoding'], 'br')
    assert.equal(htmx.headers['content-type'], 'text/javascript; charset=utf-8')
    assert.include(zlib.brotliDecompressSync(htmx.body).toString(), 'htmx')
  })

  test('small bodies, refusals and posts go out as they are', async ({ assert }) => {
    const small = await raw('/health/live', { 'accept-encoding': 'br, gzip' })
    assert.equal(small.status, 200)
    assert.isUndefined(small.headers['content-encoding'])
    assert.deepEqual(JSON.parse(small.body.toString()), { status: 'ok' })

    const refused = await raw('/login', { 'accept-encoding': 'identity' })
    assert.isUndefined(refused.headers['content-encoding'])
    assert.include(refused.body.toString(), '<html')

    const post = await raw('/login', { 'accept-encoding': 'br, gzip' }, 'POST')
    assert.isUndefined(post.headers['content-encoding'])
  })

  test('stitched gzip: pieces deflated (or stored) apart, and reused, decode to the pieces in order', ({
    assert,
  }) => {
    const figures = Buffer.from('<svg>' + 'ÿ€ bar ✓ '.repeat(5_000) + '</svg>')
    const pieces = [
      Buffer.from('<html>'),
      figures,
      Buffer.alloc(0),
      Buffer.from('<p>é</p>'),
      // Under 1 KB: sent as a stored block, whatever its bytes.
      randomBytes(1023),
      figures,
    ]
    const once = stitchedGzip(pieces)
    assert.deepEqual(zlib.gunzipSync(once), Buffer.concat(pieces))
    assert.isBelow(once.length, figures.length / 10)
    // The kept piece's compressed bytes are reused: the same answer around other pieces.
    const other = [Buffer.from('<html lang="fr">'), figures, Buffer.from('<p>ok</p>')]
    assert.deepEqual(zlib.gunzipSync(stitchedGzip(other)), Buffer.concat(other))
    assert.deepEqual(stitchedGzip(pieces), once)
    // Nothing to send is still one valid member.
    assert.equal(zlib.gunzipSync(stitchedGzip([])).length, 0)
  })

  test('Accept-Encoding: br preferred, q=0 refuses, * stands for the rest', ({ assert }) => {
    assert.equal(pickEncoding('gzip, deflate, br'), 'br')
    assert.equal(pickEncoding('gzip;q=1.0, br;q=0'), 'gzip')
    assert.equal(pickEncoding('GZIP'), 'gzip')
    assert.equal(pickEncoding('*'), 'br')
    assert.equal(pickEncoding('*;q=0, identity'), null)
    assert.equal(pickEncoding('gzip, deflate, br', 'gzip'), 'gzip')
    assert.equal(pickEncoding('br, gzip;q=0', 'gzip'), 'br')
    assert.equal(pickEncoding('deflate'), null)
    assert.equal(pickEncoding(''), null)
    assert.equal(pickEncoding(undefined), null)
  })
})
