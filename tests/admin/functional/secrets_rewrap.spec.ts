import { test } from '@japa/runner'
import { randomBytes } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import encryption from '@adonisjs/core/services/encryption'
import { Encryption } from '@adonisjs/core/encryption'
import { AES256GCM } from '@adonisjs/core/encryption/drivers/aes_256_gcm'
import env from '#start/env'
import { rewrapSecrets } from '#core'
import { createProvider } from '#agents/actions/manage_providers'
import { withTenant } from '#tenants'
import { createWebhookEndpoint } from '#platform'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { runCommand } from '#tests/helpers/ace'
import SecretsRewrap from '#admin/commands/secrets_rewrap'

/** An encrypter over these keys (the first seals), like config/encryption.ts builds the app's. */
const encrypterOf = (...keys: string[]) =>
  new Encryption({ driver: (key) => new AES256GCM({ id: 'gcm', key }), keys })

const newKey = () => randomBytes(24).toString('base64url')

test.group('admin / APP_KEY rotation', () => {
  test('secrets sealed under the previous APP_KEY are re-sealed under the current one, provider keys included', async ({
    assert,
  }) => {
    const previousKey = newKey()
    const previous = encrypterOf(previousKey)
    const { owner, tenant } = await WorkspaceFactory.create()
    const provider = await createProvider({
      tenantId: tenant.id,
      actorId: owner.id,
      slug: 'rotated',
      name: 'Rotated',
      kind: 'openai_compatible',
      baseUrl: 'https://llm.example.com/v1',
      apiKey: 'sk-current',
    })
    // As the data would be if it was sealed before the rotation: under the previous key.
    await db
      .from('providers')
      .where('id', provider.id)
      .update({
        api_key_encrypted: previous.encrypt('sk-before-rotation', { purpose: 'provider-api-key' }),
      })
    await db
      .from('users')
      .where('id', owner.id)
      .update({
        totp_secret_encrypted: previous.encrypt('JBSWY3DPEHPK3PXP', {
          purpose: 'auth.totp_secret',
        }),
      })
    const { endpoint } = await withTenant(tenant.id, (trx) =>
      createWebhookEndpoint(trx, {
        tenantId: tenant.id,
        url: 'https://hooks.example.com/x',
        events: ['run.finished'],
        actorId: owner.id,
      })
    )
    await db
      .from('webhook_endpoints')
      .where('id', endpoint.id)
      .update({ secret_encrypted: previous.encrypt('whsec_old', { purpose: 'webhook-secret' }) })
    // A secret no configured key opens stays as it is and is reported.
    const lost = encrypterOf(newKey()).encrypt('sk-lost', { purpose: 'provider-api-key' })
    const other = await createProvider({
      tenantId: tenant.id,
      actorId: owner.id,
      slug: 'lost',
      name: 'Lost',
      kind: 'openai_compatible',
      baseUrl: 'https://llm.example.com/v1',
      apiKey: 'x',
    })
    await db.from('providers').where('id', other.id).update({ api_key_encrypted: lost })

    const read = async () => ({
      key: (await db.from('providers').where('id', provider.id).first()).api_key_encrypted,
      totp: (await db.from('users').where('id', owner.id).first()).totp_secret_encrypted,
      hook: (await db.from('webhook_endpoints').where('id', endpoint.id).first()).secret_encrypted,
    })
    // Before: the app's own key (APP_KEY alone) cannot open them.
    const before = await read()
    assert.isNull(encryption.decrypt(before.key, 'provider-api-key'))

    // The rotation: APP_KEY is the current key, the old one is still configured to decrypt.
    const current = env.get('APP_KEY').release()
    const results = await rewrapSecrets(encrypterOf(current, previousKey))
    assert.isAtLeast(results['provider credentials'].resealed, 1)
    assert.equal(results['provider credentials'].unreadable, 1)
    assert.isAtLeast(results['two-factor secrets'].resealed, 1)
    assert.isAtLeast(results['webhook secrets'].resealed, 1)

    // After: APP_KEY alone opens every one of them; the previous key may go.
    const after = await read()
    assert.equal(encryption.decrypt(after.key, 'provider-api-key'), 'sk-before-rotation')
    assert.equal(encryption.decrypt(after.totp, 'auth.totp_secret'), 'JBSWY3DPEHPK3PXP')
    assert.equal(encryption.decrypt(after.hook, 'webhook-secret'), 'whsec_old')
    assert.isNull(previous.decrypt(after.key, 'provider-api-key'))
    assert.equal((await db.from('providers').where('id', other.id).first()).api_key_encrypted, lost)

    // The operator's command prints one line per store and fails while a secret stays unreadable.
    const run = await runCommand(SecretsRewrap, [])
    assert.match(run.stdout, /^provider credentials resealed=\d+ unreadable=1$/m)
    assert.match(run.stdout, /^webhook secrets resealed=\d+ unreadable=0$/m)
    assert.equal(run.exitCode, 1)
    await db.from('providers').where('id', other.id).delete()
    const clean = await runCommand(SecretsRewrap, [])
    assert.equal(clean.exitCode, 0, clean.stderr)
  })
})
