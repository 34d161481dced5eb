import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { WorkspaceFactory } from '#database/factories/workspace_factory'

const FILE = Buffer.alloc(512 * 1024, 'a')

test.group('core / multipart bodies', () => {
  test('no route takes files: a multipart body is refused with 415, never parsed', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const api = await client
      .post('/api/v1/agents')
      .bearerToken(token!)
      .field('name', 'Echo')
      .file('upload', FILE, { filename: 'big.bin' })
    api.assertStatus(415)
    assert.equal(api.body().status, 415)
    assert.include(api.header('content-type'), 'application/problem+json')

    // Anonymous, on a page form: refused before any handler (sent back with the message), and
    // nothing is stored.
    const email = `upload-${Date.now()}@example.test`
    const anonymous = await client
      .post('/signup')
      .redirects(0)
      .field('email', email)
      .field('password', 'a long enough password 123')
      .file('upload', FILE, { filename: 'big.bin' })
    assert.oneOf(anonymous.status(), [302, 403, 415])
    assert.notEqual(anonymous.header('location'), '/home')
    assert.isNull(await db.from('users').where('email', email).first())
  })
})
