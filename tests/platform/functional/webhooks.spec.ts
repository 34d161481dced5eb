import { test } from '@japa/runner'
import { createHmac } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import db from '@adonisjs/lucid/services/db'
import { deliverDueWebhooks, emitWebhook } from '#platform'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { UserFactory } from '#database/factories/user_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'
import { signedIn } from '#tests/helpers/session'

type Received = { headers: http.IncomingHttpHeaders; body: string }

/** A local receiver answering with the statuses queued in `answers` (then 200). */
async function receiver() {
  const received: Received[] = []
  const answers: number[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      received.push({ headers: req.headers, body })
      res.writeHead(answers.shift() ?? 200).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  return { url, received, answers, close: () => new Promise((r) => server.close(r)) }
}

/** Checks `Agora-Signature` against a secret: the v1 for it is present and right. */
function signedWith(headers: http.IncomingHttpHeaders, body: string, secret: string) {
  const header = String(headers['agora-signature'] ?? '')
  const t = /t=(\d+)/.exec(header)?.[1]
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')
  return header.split(',').includes(`v1=${expected}`)
}

/** POST /api/v1/webhooks as the token's owner; the response (201 carries the secret). */
function addEndpoint(client: any, token: string, url: string, events: string[]) {
  return client.post('/api/v1/webhooks').bearerToken(token).json({ url, events })
}

async function deliveriesOf(endpointId: string) {
  return db.from('webhook_deliveries').where('endpoint_id', endpointId).orderBy('created_at')
}

test.group('platform / outbound webhooks', (group) => {
  group.each.setup(() => {
    const before = process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS
    process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS = 'true'
    return () => {
      if (before === undefined) delete process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS
      else process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS = before
    }
  })

  test('an owner adds, lists, reads and deletes endpoints; the secret is shown once; bad input is 422', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    const created = await addEndpoint(client, token, 'https://hooks.example.com/agora', [
      'run.finished',
      'credits.low',
    ])
    created.assertStatus(201)
    assert.match(created.body().secret, /^whsec_/)
    assert.equal(created.header('location'), `/api/v1/webhooks/${created.body().id}`)
    const shown = await client.get(`/api/v1/webhooks/${created.body().id}`).bearerToken(token)
    assert.notProperty(shown.body(), 'secret')
    assert.deepEqual(shown.body().events, ['run.finished', 'credits.low'])
    const listed = await client.get('/api/v1/webhooks').bearerToken(token)
    assert.lengthOf(listed.body().data, 1)
    // The secret is stored encrypted, never as given.
    const row = await db.from('webhook_endpoints').where('id', created.body().id).first()
    assert.notInclude(row.secret_encrypted, created.body().secret)

    for (const [body, field] of [
      [{ url: 'ftp://x.example.com', events: ['run.finished'] }, 'url'],
      [{ url: 'not a url', events: ['run.finished'] }, 'url'],
      [{ url: 'https://user:pw@x.example.com', events: ['run.finished'] }, 'url'],
      [{ url: 'https://x.example.com', events: [] }, 'events'],
      [{ url: 'https://x.example.com', events: ['run.started'] }, 'events'],
    ] as const) {
      const refused = await client.post('/api/v1/webhooks').bearerToken(token).json(body)
      refused.assertStatus(422)
      assert.equal(refused.body().errors[0].field, field)
    }
    const removed = await client.delete(`/api/v1/webhooks/${created.body().id}`).bearerToken(token)
    removed.assertStatus(204)
    ;(await client.get(`/api/v1/webhooks/${created.body().id}`).bearerToken(token)).assertStatus(
      404
    )
  })

  test('private and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS is set', async ({
    client,
    assert,
  }) => {
    const { token } = await WorkspaceFactory.create({ token: true })
    delete process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://localhost/x',
      'http://10.1.2.3/x',
      'http://169.254.169.254/latest',
      'http://[::1]/x',
      'http://[::ffff:192.168.1.1]/x',
    ]) {
      const refused = await client
        .post('/api/v1/webhooks')
        .bearerToken(token)
        .json({ url, events: ['run.finished'] })
      refused.assertStatus(422)
      assert.match(refused.body().errors[0].message, /private network/, url)
    }
  })

  test('members and tokens without webhooks:write may not manage endpoints', async ({ client }) => {
    const { tenant, owner } = await WorkspaceFactory.create()
    const member = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: member.id,
      role: 'member',
    }).create()
    const body = { url: 'https://x.example.com/h', events: ['run.finished'] }
    ;(
      await client
        .post('/api/v1/webhooks')
        .bearerToken(await ApiTokenFactory.create(member, tenant.id))
        .json(body)
    ).assertStatus(403)
    ;(
      await client
        .post('/api/v1/webhooks')
        .bearerToken(await ApiTokenFactory.create(owner, tenant.id, ['runs:read']))
        .json(body)
    ).assertStatus(403)
  })

  test('a finished run is delivered signed, once per endpoint subscribed to run.finished', async ({
    client,
    assert,
  }) => {
    const hook = await receiver()
    try {
      const { tenant, token } = await WorkspaceFactory.create({
        grant: 1_000_000_000n,
        token: true,
      })
      const endpoint = await addEndpoint(client, token, hook.url, ['run.finished'])
      const other = await addEndpoint(client, token, hook.url, ['eval.finished'])
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({ name: 'Echo', slug: 'echo', instructions: 'Repeat.', model: 'simulator/echo' })
      const run = await client
        .post('/api/v1/agents/echo/runs')
        .bearerToken(token)
        .json({ input: 'hi' })
      run.assertStatus(201)
      // The listener queues it after the run's commit.
      for (let i = 0; i < 50 && !(await deliveriesOf(endpoint.body().id)).length; i++)
        await new Promise((r) => setTimeout(r, 20))
      assert.equal(await deliverDueWebhooks(), 1)
      assert.lengthOf(hook.received, 1)
      const { headers, body } = hook.received[0]
      assert.isTrue(signedWith(headers, body, endpoint.body().secret))
      assert.isFalse(signedWith(headers, body, other.body().secret))
      const event = JSON.parse(body)
      assert.equal(event.type, 'run.finished')
      assert.equal(event.data.run_id, run.body().id)
      assert.equal(event.data.status, 'succeeded')
      assert.equal(event.data.cost_credits, run.body().cost_credits)
      assert.lengthOf(await deliveriesOf(other.body().id), 0)
      const log = await client
        .get(`/api/v1/webhooks/${endpoint.body().id}/deliveries`)
        .bearerToken(token)
      assert.deepInclude(log.body().data[0], {
        event_id: event.id,
        type: 'run.finished',
        status: 'delivered',
        attempts: 1,
        last_status: 200,
      })
      // Nothing is left to send; the tenant's id is on the row.
      assert.equal(await deliverDueWebhooks(), 0)
      assert.equal((await deliveriesOf(endpoint.body().id))[0].tenant_id, tenant.id)
    } finally {
      await hook.close()
    }
  })

  test('a failed delivery is retried with backoff, gives up after 24 h, and can be redelivered with the same id', async ({
    client,
    assert,
  }) => {
    const hook = await receiver()
    try {
      const { tenant, token } = await WorkspaceFactory.create({ token: true })
      const endpoint = await addEndpoint(client, token, hook.url, ['credits.low'])
      const id = endpoint.body().id
      hook.answers.push(500)
      await emitWebhook(tenant.id, 'credits.low', { available: '1' })
      await deliverDueWebhooks()
      let [row] = await deliveriesOf(id)
      assert.equal(row.status, 'pending')
      assert.equal(row.attempts, 1)
      assert.equal(row.last_status, 500)
      const wait = new Date(row.next_attempt_at).getTime() - Date.now()
      assert.isAbove(wait, 20_000, 'the next attempt waits (backoff)')
      assert.equal(await deliverDueWebhooks(), 0, 'not due yet')

      // Due again (now() is the test transaction's start): the second attempt succeeds.
      await db
        .from('webhook_deliveries')
        .where('id', row.id)
        .update({ next_attempt_at: db.raw('now()') })
      await deliverDueWebhooks()
      ;[row] = await deliveriesOf(id)
      assert.equal(row.status, 'delivered')
      assert.equal(row.attempts, 2)
      assert.equal(JSON.parse(hook.received[0].body).id, JSON.parse(hook.received[1].body).id)

      // An event still failing 24 h after it happened is given up.
      hook.answers.push(503)
      await emitWebhook(tenant.id, 'credits.low', { available: '0' })
      await db
        .from('webhook_deliveries')
        .where('endpoint_id', id)
        .where('status', 'pending')
        .update({ created_at: new Date(Date.now() - 25 * 3600_000) })
      await deliverDueWebhooks()
      const failed = (await deliveriesOf(id)).find((d) => d.status !== 'delivered')
      assert.equal(failed.status, 'failed')

      // Redelivered: pending again, sent with its original event id.
      const again = await client
        .post(`/api/v1/webhooks/${id}/deliveries/${failed.id}/redeliver`)
        .bearerToken(token)
      again.assertStatus(202)
      assert.equal(again.body().status, 'pending')
      await deliverDueWebhooks()
      const last = JSON.parse(hook.received.at(-1)!.body)
      assert.equal(last.id, failed.event_id)
      assert.equal(
        (await db.from('webhook_deliveries').where('id', failed.id).first()).status,
        'delivered'
      )
    } finally {
      await hook.close()
    }
  })

  test('after a secret rotation deliveries carry both signatures for 24 h', async ({
    client,
    assert,
  }) => {
    const hook = await receiver()
    try {
      const { tenant, token } = await WorkspaceFactory.create({ token: true })
      const endpoint = await addEndpoint(client, token, hook.url, ['credits.low'])
      const rotated = await client
        .post(`/api/v1/webhooks/${endpoint.body().id}/secret-rotations`)
        .bearerToken(token)
      rotated.assertStatus(201)
      assert.notEqual(rotated.body().secret, endpoint.body().secret)
      assert.isString(rotated.body().previous_secret_expires_at)
      await emitWebhook(tenant.id, 'credits.low', { available: '1' })
      await deliverDueWebhooks()
      const { headers, body } = hook.received[0]
      assert.isTrue(signedWith(headers, body, rotated.body().secret))
      assert.isTrue(signedWith(headers, body, endpoint.body().secret))
      // Once the overlap is over, only the new secret signs.
      await db
        .from('webhook_endpoints')
        .where('id', endpoint.body().id)
        .update({ previous_secret_expires_at: new Date(Date.now() - 1000) })
      await emitWebhook(tenant.id, 'credits.low', { available: '0' })
      await deliverDueWebhooks()
      const second = hook.received[1]
      assert.isTrue(signedWith(second.headers, second.body, rotated.body().secret))
      assert.isFalse(signedWith(second.headers, second.body, endpoint.body().secret))
    } finally {
      await hook.close()
    }
  })

  test('a delivery to a private address fails once private networks are not allowed', async ({
    client,
    assert,
  }) => {
    const hook = await receiver()
    try {
      const { tenant, token } = await WorkspaceFactory.create({ token: true })
      const endpoint = await client
        .post('/api/v1/webhooks')
        .bearerToken(token)
        .json({ url: hook.url.replace('127.0.0.1', 'localhost'), events: ['credits.low'] })
      endpoint.assertStatus(201)
      delete process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS
      await emitWebhook(tenant.id, 'credits.low', { available: '1' })
      await deliverDueWebhooks()
      const [row] = await deliveriesOf(endpoint.body().id)
      assert.equal(row.status, 'pending')
      assert.match(row.last_error, /private network/)
      assert.lengthOf(hook.received, 0)
    } finally {
      await hook.close()
    }
  })

  test('the webhooks page adds an endpoint and shows its secret once, then lists its deliveries', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const session = await signedIn(client, owner)
    await session.get(`/t/${tenant.slug}/webhooks`)
    const added = await session.follow(
      await session.submit('POST', `/t/${tenant.slug}/webhooks`, {
        url: 'https://hooks.example.com/x',
        events: ['run.finished'],
      })
    )
    assert.match(added.text(), /data-testid="webhook-secret">whsec_/)
    const again = await session.get(`/t/${tenant.slug}/webhooks`)
    assert.notMatch(again.text(), /data-testid="webhook-secret"/)
    assert.include(again.text(), 'https://hooks.example.com/x')
    const refused = await session.follow(
      await session.submit('POST', `/t/${tenant.slug}/webhooks`, { url: 'nope', events: [] })
    )
    assert.include(refused.text(), 'absolute http(s) URL')
  })
})
