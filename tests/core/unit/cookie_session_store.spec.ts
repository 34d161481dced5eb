import { IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import { test } from '@japa/runner'
import encryption from '@adonisjs/core/services/encryption'
import testUtils from '@adonisjs/core/services/test_utils'
import { CookieSessionStore } from '#core/cookie_session_store'

const SESSION_ID = 'f0e1d2c3-session'
const REFRESH_MS = 12 * 60_000

/** A request carrying `cookies` (name → value as a browser sends it back), and its store. */
async function storeFor(cookies: Record<string, string> = {}) {
  const req = new IncomingMessage(new Socket())
  req.headers.cookie = Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ')
  const ctx = await testUtils.createHttpContext({ req })
  const store = new CookieSessionStore(ctx, { path: '/', httpOnly: true, maxAge: 7200 }, REFRESH_MS)
  /** The session cookie this response sets, decrypted; undefined when it sets none. */
  const written = () => {
    const line = ([] as string[])
      .concat((ctx.response.getHeader('set-cookie') as string[] | undefined) ?? [])
      .find((cookie) => cookie.startsWith(`${SESSION_ID}=`))
    if (!line) return undefined
    const value = decodeURIComponent(line.split(';')[0].slice(SESSION_ID.length + 1))
    return encryption.decrypt<Record<string, unknown>>(value.slice(2), SESSION_ID)!
  }
  return { store, written }
}

const sealed = (values: Record<string, unknown>) =>
  encodeURIComponent(`e:${encryption.encrypt(values, undefined, SESSION_ID)}`)

test.group('core / cookie session store', () => {
  test('writes the values with the time; reads them back without it', async ({ assert }) => {
    const first = await storeFor()
    assert.isNull(first.store.read(SESSION_ID))
    first.store.write(SESSION_ID, { auth_web: 'user-1', csrf: 'secret' })
    const cookie = first.written()!
    assert.equal(cookie.auth_web, 'user-1')
    assert.closeTo(Number(cookie.__written), Date.now(), 5_000)

    const next = await storeFor({ [SESSION_ID]: sealed(cookie) })
    assert.deepEqual(next.store.read(SESSION_ID), { auth_web: 'user-1', csrf: 'secret' })
  })

  test('touch re-encrypts only once a tenth of the age has passed since the last write', async ({
    assert,
  }) => {
    const values = { auth_web: 'user-1', csrf: 'secret' }
    const recent = await storeFor({
      [SESSION_ID]: sealed({ ...values, __written: Date.now() - 60_000 }),
    })
    recent.store.read(SESSION_ID)
    recent.store.touch(SESSION_ID)
    assert.isUndefined(recent.written())

    const aged = await storeFor({
      [SESSION_ID]: sealed({ ...values, __written: Date.now() - 13 * 60_000 }),
    })
    aged.store.read(SESSION_ID)
    aged.store.touch(SESSION_ID)
    const { __written: at, ...rewritten } = aged.written()!
    assert.deepEqual(rewritten, values)
    assert.closeTo(Number(at), Date.now(), 5_000)

    // A cookie from before the time was kept counts as aged; a missing one is left alone.
    const legacy = await storeFor({ [SESSION_ID]: sealed(values) })
    legacy.store.touch(SESSION_ID)
    assert.deepEqual({ ...legacy.written(), __written: 0 }, { ...values, __written: 0 })
    const none = await storeFor()
    none.store.touch(SESSION_ID)
    assert.isUndefined(none.written())
  })
})
