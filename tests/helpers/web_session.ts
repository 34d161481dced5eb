import { randomUUID } from 'node:crypto'
import type { ApiClient } from '@japa/api-client'
import type { ApiResponse } from '@japa/api-client'
import { User } from '#auth'

export const TEST_PASSWORD = 'correct horse battery staple'

/** A user with a unique email (the limiter store is shared across tests). */
export async function createUser(
  attributes: Partial<{
    email: string
    name: string
    password: string
    platformAdmin: boolean
  }> = {}
) {
  return User.create({
    email: attributes.email ?? `user-${randomUUID()}@example.test`,
    name: attributes.name ?? 'Test User',
    password: attributes.password ?? TEST_PASSWORD,
    timeZone: 'UTC',
    platformAdmin: attributes.platformAdmin ?? false,
  })
}

/**
 * A cookie jar over the Japa API client: behaves like one browser, sending back the cookies
 * it was given and the page's CSRF token with every form.
 */
export class WebSession {
  cookies = new Map<string, string>()
  csrfToken: string | undefined

  constructor(private client: ApiClient) {}

  cookieHeader() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  absorb(response: ApiResponse) {
    for (const cookie of ([] as string[]).concat(response.header('set-cookie') ?? [])) {
      const [pair, ...attributes] = cookie.split(';')
      const index = pair.indexOf('=')
      const name = pair.slice(0, index).trim()
      const expired = attributes.some((a) => /max-age=0|expires=thu, 01 jan 1970/i.test(a.trim()))
      if (expired) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(index + 1))
    }
    const token = /name='_csrf' value='([^']+)'/.exec(response.text() ?? '')?.[1]
    if (token) this.csrfToken = token
    return response
  }

  async get(url: string, headers: Record<string, string> = {}) {
    return this.absorb(
      await this.client
        .get(url)
        .headers({ ...headers, cookie: this.cookieHeader() })
        .redirects(0)
    )
  }

  /** Submits a form like a browser (method spoofing for PUT/DELETE), with the CSRF token. */
  async submit(
    method: 'POST' | 'PUT' | 'DELETE',
    url: string,
    form: Record<string, unknown> = {},
    headers: Record<string, string> = {}
  ) {
    if (!this.csrfToken) await this.get('/login')
    const target =
      method === 'POST' ? url : `${url}${url.includes('?') ? '&' : '?'}_method=${method}`
    return this.absorb(
      await this.client
        .post(target)
        .headers({ ...headers, cookie: this.cookieHeader() })
        .form({ _csrf: this.csrfToken, ...form })
        .redirects(0)
    )
  }

  async login(email: string, password = TEST_PASSWORD, extra: Record<string, unknown> = {}) {
    await this.get('/login')
    return this.submit('POST', '/login', { email, password, ...extra })
  }
}
