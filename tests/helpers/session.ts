import { randomBytes } from 'node:crypto'
import type { ApiClient, ApiResponse } from '@japa/api-client'
import { USER_PASSWORD } from '#database/factories/user_factory'

const SESSION_COOKIE = 'agora-session'
const CSRF_FIELD = /name='_csrf' value='([^']+)'/

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
 * One browser for functional tests: keeps its cookies, comes from its own IP, posts forms
 * urlencoded with a CSRF token (PUT and DELETE spoofed with `_method`, as HTML forms do) and the
 * last page as Referer unless that page said `Referrer-Policy: no-referrer`. It never follows a
 * redirect by itself (tests assert on them): `follow()` does, to read the page and its flash.
 */
export class Session {
  readonly ip = testIp()
  readonly cookies = new Map<string, string>()
  /** The last page's token, valid while the session cookie it came with is unchanged. */
  #csrf: { token: string; session: string | undefined } | undefined
  #referer: string | undefined

  constructor(private client: ApiClient) {}

  cookieHeader() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  #absorb(response: ApiResponse) {
    for (const line of ([] as string[]).concat(response.header('set-cookie') ?? [])) {
      const [pair, ...attributes] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at).trim()
      const value = pair.slice(at + 1).trim()
      const expired =
        !value || attributes.some((a) => /^\s*(max-age=0|expires=thu, 01 jan 1970.*)\s*$/i.test(a))
      if (expired) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    const token = CSRF_FIELD.exec(response.text() ?? '')?.[1]
    if (token) this.#csrf = { token, session: this.cookies.get(SESSION_COOKIE) }
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
    const page =
      response.status() === 200 &&
      String(response.header('content-type')).startsWith('text/html') &&
      !Object.keys(headers).some((name) => name.toLowerCase() === 'hx-request')
    if (page) {
      this.#referer =
        response.header('referrer-policy') === 'no-referrer'
          ? undefined
          : new URL(url, `http://${process.env.HOST}:${process.env.PORT}`).href
    }
    return response
  }

  /** A CSRF token of this session: the last page's, or one from a page every visitor may open. */
  async csrfToken() {
    if (this.#csrf && this.#csrf.session === this.cookies.get(SESSION_COOKIE))
      return this.#csrf.token
    const referer = this.#referer
    const page = await this.get('/password-resets/new')
    this.#referer = referer
    const token = CSRF_FIELD.exec(page.text() ?? '')?.[1]
    if (!token) throw new Error(`no CSRF token on /password-resets/new (${page.status()})`)
    return token
  }

  /** Submits a form like a browser: urlencoded, with this session's CSRF token. */
  async submit(
    method: 'POST' | 'PUT' | 'DELETE',
    url: string,
    fields: Record<string, unknown> = {},
    headers: Record<string, string> = {}
  ) {
    const _csrf = await this.csrfToken()
    const target =
      method === 'POST' ? url : `${url}${url.includes('?') ? '&' : '?'}_method=${method}`
    const request = this.client
      .post(target)
      .header('cookie', this.cookieHeader())
      .header('x-forwarded-for', this.ip)
      .redirects(0)
    if (this.#referer) request.header('referer', this.#referer)
    for (const [name, value] of Object.entries(headers)) request.header(name, value)
    return this.#absorb(await request.form({ _csrf, ...fields }))
  }

  /** Follows `response`'s redirects; returns the page they end on (with any flash rendered). */
  async follow(response: ApiResponse) {
    for (let hops = 0; hops < 10; hops++) {
      const location = response.header('location')
      if (response.status() < 300 || response.status() >= 400 || !location) return response
      response = await this.get(location)
    }
    throw new Error(`more than 10 redirects, the last to ${response.header('location')}`)
  }

  /** Posts the login form (after opening it); returns the answer, which tests of logging in check. */
  async login(email: string, password = USER_PASSWORD, fields: Record<string, unknown> = {}) {
    await this.get('/login')
    return this.submit('POST', '/login', { email, password, ...fields })
  }
}

/** A new browser signed in as `user` through the login form; throws unless the login succeeds. */
export async function signedIn(
  client: ApiClient,
  user: { email: string },
  password = USER_PASSWORD
) {
  const session = new Session(client)
  const response = await session.login(user.email, password)
  const location = response.header('location') ?? ''
  if (response.status() !== 302 || location.startsWith('/login'))
    throw new Error(`login of ${user.email} failed: ${response.status()} → ${location}`)
  return session
}
