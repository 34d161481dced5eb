import type { HttpContext } from '@adonisjs/core/http'
import { DomainException, InvalidInputException } from '#core/exceptions'

export type Upload = { name: string; type: string | null; bytes: Buffer }

/**
 * Reads the one file a multipart upload route expects (field `field`) into memory, refusing more
 * than `maxBytes` with 413 as soon as it is exceeded (nothing touches the disk); other files are
 * skipped. The form's other fields are in `ctx.request.body()` afterwards. 422 on `field` when no
 * file came. Only for routes declared with acceptUploadsOn (the rest answer multipart 415).
 */
export async function readUpload(ctx: HttpContext, field: string, maxBytes: number) {
  const multipart = ctx.request.multipart
  let upload: Upload | null = null
  // Every file part counts, kept or not: a client cannot stream without end beside the file.
  let received = 0
  const tooLarge = () =>
    new DomainException(
      `The file is larger than the ${Math.round(maxBytes / 1024 / 1024)} MB limit.`,
      { status: 413, code: 'E_REQUEST_ENTITY_TOO_LARGE' }
    )
  multipart.onFile('*', {}, async (part: any) => {
    const kept = part.name === field && !upload
    const chunks: Buffer[] = []
    for await (const chunk of part as AsyncIterable<Buffer>) {
      received += chunk.length
      if (received > maxBytes) return void multipart.abort(tooLarge())
      if (kept) chunks.push(chunk)
    }
    if (!kept) return
    const type = part.headers?.['content-type']
    upload = {
      name: String(part.filename ?? ''),
      type: typeof type === 'string' ? type : null,
      bytes: Buffer.concat(chunks),
    }
  })
  // Fields and framing on top of the file: a little headroom, never an unbounded body.
  await multipart.process({ limit: maxBytes + 256 * 1024 })
  if (!upload) throw new InvalidInputException(field, 'Choose a file to upload.')
  return upload as Upload
}
