import type { HttpContext } from '@adonisjs/core/http'
import type { SessionData, SessionStoreContract } from '@adonisjs/session/types'

/** When the cookie was last written (epoch ms), kept inside the encrypted value. */
const WRITTEN = '__written'

/**
 * The session in an encrypted cookie, like the built-in cookie store, except that an unchanged
 * session is re-encrypted (to slide its expiry) only once `refreshMs` have passed since it was
 * last written: the built-in store decrypts it twice and encrypts it again on every response,
 * ~5 % of a cached dashboard's CPU. An idle session so ends between age − refreshMs and age
 * after its last request.
 */
export class CookieSessionStore implements SessionStoreContract {
  #read: { values: SessionData; writtenAt: number } | null = null

  constructor(
    private ctx: HttpContext,
    private cookie: Record<string, unknown>,
    private refreshMs: number
  ) {}

  read(sessionId: string) {
    const value = this.ctx.request.encryptedCookie(sessionId)
    if (!value || typeof value !== 'object') return (this.#read = null)
    const { [WRITTEN]: writtenAt, ...values } = value as SessionData
    this.#read = { values, writtenAt: typeof writtenAt === 'number' ? writtenAt : 0 }
    return values
  }

  write(sessionId: string, values: SessionData) {
    this.ctx.response.encryptedCookie(sessionId, { ...values, [WRITTEN]: Date.now() }, this.cookie)
  }

  destroy(sessionId: string) {
    if (this.ctx.request.cookiesList()[sessionId]) this.ctx.response.clearCookie(sessionId)
  }

  touch(sessionId: string) {
    const read = this.#read ?? (this.read(sessionId), this.#read)
    if (read && Date.now() - read.writtenAt >= this.refreshMs) this.write(sessionId, read.values)
  }
}
