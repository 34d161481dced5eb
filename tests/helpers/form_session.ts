import { randomBytes } from 'node:crypto'
import type { ApiClient, ApiResponse } from '@japa/api-client'
import { makeUser } from '#tests/helpers/account_factory'

/**
 * A unique client address (IPv6 documentation range) sent as X-Forwarded-For, which the app
 * trusts from loopback: per-IP rate limits of one test never collide with another test's, nor
 * with an earlier run's when the limiter lives in Redis.
 */
export function testIp() {
  const group = () => randomBytes(2).toString('hex')
  return `2001:db8:${group()}:${group()}:${group()}:${group()}::1`
}

/**
 * One browser for functional tests: keeps the cookies between requests, sends a CSRF token with
 * every form and the last page as Referer, never follows redirects (tests assert on them) and
 * comes from its own IP.
 */
export class FormSession {
  readonly ip = testIp()
  #cookies = new Map<string, string>()
  #lastPage = '/'

  constructor(private client: ApiClient) {}

  cookieHeader() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  #absorb(response: ApiResponse) {
    for (const line of ([] as string[]).concat(response.header('set-cookie') ?? [])) {
      const [pair, ...attributes] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at).trim()
      const value = pair.slice(at + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || !value
      if (expired) this.#cookies.delete(name)
      else this.#cookies.set(name, value)
    }
    return response
  }

  async get(url: string, headers: Record<string, string> = {}) {
    const request = this.client
      .get(url)
      .header('cookie', this.cookieHeader())
      .header('x-forwarded-for', this.ip)
      .redirects(0)
    for (const [name, value] of Object.entries(headers)) request.header(name, value)
    const response = this.#absorb(await request)
    if (response.status() === 200) this.#lastPage = url
    return response
  }

  /** A CSRF token of this session, taken from a page every visitor may open. */
  async csrfToken() {
    const lastPage = this.#lastPage
    const page = await this.get('/password-resets/new')
    this.#lastPage = lastPage
    const token = /name='_csrf' value='([^']+)'/.exec(page.text())?.[1]
    if (!token) throw new Error(`no CSRF token on /password-resets/new (status ${page.status()})`)
    return token
  }

  /** Submits a form like a browser would: urlencoded, with this session's CSRF token. */
  async submit(
    method: 'post' | 'put' | 'delete',
    url: string,
    fields: Record<string, string> = {}
  ) {
    const referer = `http://${process.env.HOST}:${process.env.PORT}${this.#lastPage}`
    const _csrf = await this.csrfToken()
    const request = this.client[method](url)
      .header('cookie', this.cookieHeader())
      .header('x-forwarded-for', this.ip)
      .header('referer', referer)
      .redirects(0)
    return this.#absorb(await request.form({ ...fields, _csrf }))
  }

  /** Logs in through the real form; throws unless the app redirects away from /login. */
  async signIn(email: string, password: string) {
    const response = await this.submit('post', '/login', { email, password })
    const location = response.header('location') ?? ''
    if (response.status() !== 302 || location.startsWith('/login')) {
      throw new Error(`sign-in of ${email} failed: ${response.status()} → ${location}`)
    }
    return response
  }
}

/** A new account, signed in through the login form in its own browser. */
export async function signedInAs(client: ApiClient, options: Parameters<typeof makeUser>[0] = {}) {
  const { user, password } = await makeUser(options)
  const browser = new FormSession(client)
  await browser.signIn(user.email, password)
  return { user, password, browser }
}
