import { randomBytes } from 'node:crypto'
import { appendFile, readFile } from 'node:fs/promises'

/**
 * Outside production, writes a fresh random APP_KEY into `.env` when none is configured, so the
 * first `npm run dev` works with no set-up. Production must set APP_KEY explicitly.
 */
export async function ensureAppKey(appRoot: URL) {
  if (
    process.env.APP_KEY ||
    process.env.NODE_ENV === 'production' ||
    process.env.NODE_ENV === 'test'
  ) {
    return
  }
  const envFile = new URL('.env', appRoot)
  const contents = await readFile(envFile, 'utf8').catch(() => '')
  if (/^APP_KEY=\S+/m.test(contents)) return
  const key = randomBytes(32).toString('base64url')
  const prefix = contents.length && !contents.endsWith('\n') ? '\n' : ''
  await appendFile(envFile, `${prefix}APP_KEY=${key}\n`)
  process.env.APP_KEY = key
}
