import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import Stripe from 'stripe'
import db from '@adonisjs/lucid/services/db'
import { fulfilPurchase, verifyLedger } from '#credits'
import { accountOf, CREDIT } from '#tests/credits/helpers'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'
import { ApiTokenFactory } from '#database/factories/api_token_factory'

/** A Checkout session request as the fake Stripe API received it. */
type SessionRequest = {
  authorization: string | undefined
  idempotencyKey: string | undefined
  form: URLSearchParams
}

/**
 * A local stand-in for the Stripe API: POST /v1/checkout/sessions answers a checkout session
 * built from the form-encoded body the SDK sends; anything else is a Stripe-shaped 404.
 */
function fakeStripe() {
  const tag = randomUUID().slice(0, 8)
  const received: SessionRequest[] = []
  /** When set, the next session request is refused like Stripe refuses a bad request (400). */
  const control = { refuseNext: false }
  const server: Server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      response.setHeader('content-type', 'application/json')
      if (request.method !== 'POST' || request.url !== '/v1/checkout/sessions') {
        response.statusCode = 404
        return response.end(JSON.stringify({ error: { type: 'invalid_request_error' } }))
      }
      const form = new URLSearchParams(body)
      received.push({
        authorization: request.headers.authorization,
        idempotencyKey: request.headers['idempotency-key'] as string | undefined,
        form,
      })
      if (control.refuseNext) {
        control.refuseNext = false
        response.statusCode = 400
        return response.end(
          JSON.stringify({
            error: { type: 'invalid_request_error', message: 'Your account cannot take payments.' },
          })
        )
      }
      const n = received.length
      const metadata: Record<string, string> = {}
      for (const [key, value] of form) {
        const match = /^metadata\[(\w+)\]$/.exec(key)
        if (match) metadata[match[1]] = value
      }
      response.end(
        JSON.stringify({
          id: `cs_test_${tag}_${n}`,
          object: 'checkout.session',
          url: `https://checkout.example/pay/${tag}_${n}`,
          amount_total: Number(form.get('line_items[0][price_data][unit_amount]')),
          currency: form.get('line_items[0][price_data][currency]'),
          payment_status: 'unpaid',
          status: 'open',
          mode: form.get('mode'),
          metadata,
          client_reference_id: form.get('client_reference_id'),
        })
      )
    })
  })
  return { server, received, control }
}

const signer = new Stripe('sk_test_fake')

/** A Stripe event about a checkout session, and its signature header (whsec_test). */
function stripeEvent(type: string, session: Record<string, unknown>, id = `evt_${randomUUID()}`) {
  const payload = JSON.stringify({
    id,
    object: 'event',
    type,
    api_version: '2024-06-20',
    created: Math.floor(Date.now() / 1000),
    data: { object: { object: 'checkout.session', ...session } },
  })
  return {
    id,
    payload,
    signature: signer.webhooks.generateTestHeaderString({ payload, secret: 'whsec_test' }),
  }
}

function deliver(client: ApiClient, event: { payload: string; signature?: string }) {
  const request = client.post('/webhooks/stripe').type('application/json')
  if (event.signature !== undefined) request.header('stripe-signature', event.signature)
  return request.unsafeJson(event.payload)
}

async function purchaseEntries(tenantId: string) {
  return db.from('ledger_entries').where('tenant_id', tenantId).where('kind', 'purchase')
}

async function statusOf(purchaseId: string) {
  const row = await db.from('credit_purchases').where('id', purchaseId).first()
  return row.status as string
}

test.group('credits / purchases', (group) => {
  const fake = fakeStripe()
  const saved: Record<string, string | undefined> = {}
  const STRIPE_ENV = ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_API_BASE']

  group.setup(async () => {
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve))
    const { port } = fake.server.address() as AddressInfo
    for (const name of STRIPE_ENV) saved[name] = process.env[name]
    process.env.STRIPE_SECRET_KEY = 'sk_test_fake'
    process.env.STRIPE_WEBHOOK_SECRET = 'whsec_test'
    process.env.STRIPE_API_BASE = `http://127.0.0.1:${port}`
    return async () => {
      for (const name of STRIPE_ENV) {
        if (saved[name] === undefined) delete process.env[name]
        else process.env[name] = saved[name]
      }
      await new Promise<void>((resolve) => fake.server.close(() => resolve()))
    }
  })

  /** A workspace with 1 credit and a Stripe purchase of the starter pack (a checkout session). */
  async function stripePurchase(client: ApiClient) {
    const workspace = await WorkspaceFactory.create({ grant: CREDIT, token: true })
    const response = await client
      .post('/api/v1/credits/purchases')
      .bearerToken(workspace.token)
      .json({ pack: 'starter', provider: 'stripe' })
    response.assertStatus(201)
    const id = response.body().id as string
    const row = await db.from('credit_purchases').where('id', id).first()
    return { ...workspace, purchaseId: id, sessionId: row.checkout_session_id as string }
  }

  test('a manual purchase is pending and credits nothing until it is fulfilled, then exactly once', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: CREDIT, token: true })
    const response = await client
      .post('/api/v1/credits/purchases')
      .bearerToken(token)
      .json({ pack: 'starter', provider: 'manual' })
    response.assertStatus(201)
    assert.deepInclude(response.body(), {
      status: 'pending',
      pack: 'starter',
      credits: '10',
      price: '10.00',
      currency: 'usd',
      provider: 'manual',
      checkout_url: null,
      ledger_entry_id: null,
    })
    assert.equal(response.header('location'), `/api/v1/credits/purchases/${response.body().id}`)
    assert.deepEqual(await accountOf(tenant.id), { balance: CREDIT, held: 0n })
    assert.lengthOf(await purchaseEntries(tenant.id), 0)

    const first = await fulfilPurchase(response.body().id, { actorLabel: 'test' })
    assert.isTrue(first.paid)
    assert.equal(first.purchase.status, 'paid')
    const again = await fulfilPurchase(response.body().id, { actorLabel: 'test' })
    assert.isFalse(again.paid)

    const entries = await purchaseEntries(tenant.id)
    assert.lengthOf(entries, 1)
    assert.equal(BigInt(entries[0].amount), 10n * CREDIT)
    assert.equal(first.purchase.ledgerEntryId, entries[0].id)
    assert.deepEqual(await accountOf(tenant.id), { balance: 11n * CREDIT, held: 0n })

    const balance = await client.get('/api/v1/credits').bearerToken(token)
    balance.assertStatus(200)
    assert.deepInclude(balance.body(), { balance: '11', available: '11' })
    const shown = await client
      .get(`/api/v1/credits/purchases/${response.body().id}`)
      .bearerToken(token)
    shown.assertStatus(200)
    assert.deepInclude(shown.body(), { status: 'paid', ledger_entry_id: entries[0].id })
    assert.isString(shown.body().resolved_at)
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('an Idempotency-Key replays the first purchase for the same body and refuses another body', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ token: true })
    const key = `buy-${randomUUID()}`
    const buy = (pack: string) =>
      client
        .post('/api/v1/credits/purchases')
        .bearerToken(token)
        .header('Idempotency-Key', key)
        .json({ pack, provider: 'manual' })

    const first = await buy('starter')
    first.assertStatus(201)
    const replay = await buy('starter')
    replay.assertStatus(201)
    assert.equal(replay.body().id, first.body().id)
    assert.equal(replay.body().status, 'pending')

    const conflict = await buy('growth')
    conflict.assertStatus(409)
    assert.include(conflict.header('content-type'), 'application/problem+json')

    const listed = await client.get('/api/v1/credits/purchases').bearerToken(token)
    assert.deepEqual(
      listed.body().data.map((p: any) => p.id),
      [first.body().id]
    )
    assert.deepEqual(await accountOf(tenant.id), { balance: 0n, held: 0n })
  })

  test('an unknown pack or an unavailable provider is a 422 naming the field', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ token: true })
    const unknown = await client
      .post('/api/v1/credits/purchases')
      .bearerToken(token)
      .json({ pack: 'jumbo', provider: 'manual' })
    unknown.assertStatus(422)
    assert.equal(unknown.body().errors[0].field, 'pack')

    const bogus = await client
      .post('/api/v1/credits/purchases')
      .bearerToken(token)
      .json({ pack: 'starter', provider: 'paypal' })
    bogus.assertStatus(422)
    assert.equal(bogus.body().errors[0].field, 'provider')

    const key = process.env.STRIPE_SECRET_KEY
    delete process.env.STRIPE_SECRET_KEY
    try {
      const stripeOff = await client
        .post('/api/v1/credits/purchases')
        .bearerToken(token)
        .json({ pack: 'starter', provider: 'stripe' })
      stripeOff.assertStatus(422)
      assert.equal(stripeOff.body().errors[0].field, 'provider')
    } finally {
      process.env.STRIPE_SECRET_KEY = key
    }
    assert.lengthOf(await db.from('credit_purchases').where('tenant_id', tenant.id), 0)
  })

  test('buying needs credits:write and an owner or admin role', async ({ client, assert }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const readOnly = await ApiTokenFactory.create(owner, tenant.id, ['credits:read'])
    const narrow = await client
      .post('/api/v1/credits/purchases')
      .bearerToken(readOnly)
      .json({ pack: 'starter', provider: 'manual' })
    narrow.assertStatus(403)
    assert.include(narrow.body().detail, 'credits:write')
    ;(await client.get('/api/v1/credits/purchases').bearerToken(readOnly)).assertStatus(200)

    for (const role of ['viewer', 'member'] as const) {
      const user = await UserFactory.create()
      await MembershipFactory.merge({ tenantId: tenant.id, userId: user.id, role }).create()
      const response = await client
        .post('/api/v1/credits/purchases')
        .bearerToken(await ApiTokenFactory.create(user, tenant.id))
        .json({ pack: 'starter', provider: 'manual' })
      assert.equal(response.status(), 403, role)
    }
    assert.lengthOf(await db.from('credit_purchases').where('tenant_id', tenant.id), 0)
  })

  test('a Stripe purchase opens a Checkout session for the pack and answers its URL', async ({
    client,
    assert,
  }) => {
    const before = fake.received.length
    const { tenant, token, purchaseId, sessionId } = await stripePurchase(client)
    assert.lengthOf(fake.received, before + 1)
    const sent = fake.received[before]
    assert.equal(sent.authorization, 'Bearer sk_test_fake')
    assert.equal(sent.idempotencyKey, `checkout:${purchaseId}`)
    assert.equal(sent.form.get('mode'), 'payment')
    assert.equal(sent.form.get('client_reference_id'), purchaseId)
    assert.equal(sent.form.get('metadata[tenant_id]'), tenant.id)
    assert.equal(sent.form.get('line_items[0][price_data][unit_amount]'), '1000')
    assert.equal(sent.form.get('line_items[0][price_data][currency]'), 'usd')
    assert.match(sessionId, /^cs_test_/)

    const shown = await client.get(`/api/v1/credits/purchases/${purchaseId}`).bearerToken(token)
    assert.deepInclude(shown.body(), {
      status: 'pending',
      provider: 'stripe',
      checkout_url: `https://checkout.example/pay/${sessionId.slice('cs_test_'.length)}`,
    })
    assert.deepEqual(await accountOf(tenant.id), { balance: CREDIT, held: 0n })
  })

  test('a Stripe refusal to open the checkout is a 502, and the purchase is marked failed', async ({
    client,
    assert,
  }) => {
    const { tenant, token } = await WorkspaceFactory.create({ grant: CREDIT, token: true })
    fake.control.refuseNext = true
    const response = await client
      .post('/api/v1/credits/purchases')
      .bearerToken(token)
      .json({ pack: 'growth', provider: 'stripe' })
    response.assertStatus(502)
    assert.include(response.header('content-type'), 'application/problem+json')
    const rows = await db.from('credit_purchases').where('tenant_id', tenant.id)
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].status, 'failed')
    assert.isNull(rows[0].checkout_session_id)
    assert.deepEqual(await accountOf(tenant.id), { balance: CREDIT, held: 0n })
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('checkout.session.completed credits the pack once, however often it is delivered', async ({
    client,
    assert,
  }) => {
    const { tenant, purchaseId, sessionId } = await stripePurchase(client)
    const session = { id: sessionId, amount_total: 1000, currency: 'usd', payment_status: 'paid' }
    const completed = stripeEvent('checkout.session.completed', session)

    const first = await deliver(client, completed)
    first.assertStatus(200)
    assert.deepEqual(first.body(), { received: true, outcome: 'handled' })
    assert.equal(await statusOf(purchaseId), 'paid')
    assert.deepEqual(await accountOf(tenant.id), { balance: 11n * CREDIT, held: 0n })

    const redelivered = await deliver(client, completed)
    redelivered.assertStatus(200)
    assert.equal(redelivered.body().outcome, 'duplicate')

    const otherEvent = await deliver(client, stripeEvent('checkout.session.completed', session))
    otherEvent.assertStatus(200)

    assert.lengthOf(await purchaseEntries(tenant.id), 1)
    assert.deepEqual(await accountOf(tenant.id), { balance: 11n * CREDIT, held: 0n })
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('a bad or missing signature is a 400 and changes nothing', async ({ client, assert }) => {
    const { tenant, purchaseId, sessionId } = await stripePurchase(client)
    const event = stripeEvent('checkout.session.completed', {
      id: sessionId,
      amount_total: 1000,
      currency: 'usd',
      payment_status: 'paid',
    })
    const forged = signer.webhooks.generateTestHeaderString({
      payload: event.payload,
      secret: 'whsec_someone_else',
    })
    const tampered = event.payload.replace('"amount_total":1000', '"amount_total":1001')

    for (const attempt of [
      { payload: event.payload, signature: forged },
      { payload: tampered, signature: event.signature },
      { payload: event.payload, signature: 'garbage' },
      { payload: event.payload },
    ]) {
      const response = await deliver(client, attempt)
      assert.equal(response.status(), 400, attempt.signature ?? 'no header')
      assert.include(response.header('content-type'), 'application/problem+json')
    }
    assert.equal(await statusOf(purchaseId), 'pending')
    assert.isNull(await db.from('stripe_events').where('id', event.id).first())
    assert.deepEqual(await accountOf(tenant.id), { balance: CREDIT, held: 0n })

    // The genuine delivery still works afterwards: the refused ones did not mark the event seen.
    ;(await deliver(client, event)).assertStatus(200)
    assert.equal(await statusOf(purchaseId), 'paid')
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('checkout.session.expired after completed changes nothing: the purchase stays paid', async ({
    client,
    assert,
  }) => {
    const { tenant, purchaseId, sessionId } = await stripePurchase(client)
    ;(
      await deliver(
        client,
        stripeEvent('checkout.session.completed', {
          id: sessionId,
          amount_total: 1000,
          currency: 'usd',
          payment_status: 'paid',
        })
      )
    ).assertStatus(200)
    const expired = await deliver(
      client,
      stripeEvent('checkout.session.expired', { id: sessionId, status: 'expired' })
    )
    expired.assertStatus(200)
    assert.equal(await statusOf(purchaseId), 'paid')
    assert.lengthOf(await purchaseEntries(tenant.id), 1)
    assert.deepEqual(await accountOf(tenant.id), { balance: 11n * CREDIT, held: 0n })
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('completed after expired changes nothing: the purchase stays failed and uncredited', async ({
    client,
    assert,
  }) => {
    const { tenant, token, purchaseId, sessionId } = await stripePurchase(client)
    ;(
      await deliver(
        client,
        stripeEvent('checkout.session.expired', { id: sessionId, status: 'expired' })
      )
    ).assertStatus(200)
    assert.equal(await statusOf(purchaseId), 'failed')
    const late = await deliver(
      client,
      stripeEvent('checkout.session.completed', {
        id: sessionId,
        amount_total: 1000,
        currency: 'usd',
        payment_status: 'paid',
      })
    )
    late.assertStatus(200)
    assert.equal(await statusOf(purchaseId), 'failed')
    assert.lengthOf(await purchaseEntries(tenant.id), 0)
    assert.deepEqual(await accountOf(tenant.id), { balance: CREDIT, held: 0n })
    const shown = await client.get(`/api/v1/credits/purchases/${purchaseId}`).bearerToken(token)
    assert.deepInclude(shown.body(), { status: 'failed', checkout_url: null })
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('a completed session whose amount or currency differs from the purchase is not credited', async ({
    client,
    assert,
  }) => {
    const { tenant, purchaseId, sessionId } = await stripePurchase(client)
    for (const session of [
      { amount_total: 100, currency: 'usd' },
      { amount_total: 1000, currency: 'eur' },
    ]) {
      const response = await deliver(
        client,
        stripeEvent('checkout.session.completed', {
          id: sessionId,
          payment_status: 'paid',
          ...session,
        })
      )
      response.assertStatus(200)
      assert.equal(response.body().outcome, 'ignored')
    }
    assert.equal(await statusOf(purchaseId), 'pending')
    assert.lengthOf(await purchaseEntries(tenant.id), 0)
    assert.deepEqual(await accountOf(tenant.id), { balance: CREDIT, held: 0n })
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })

  test('a completed session that is not paid yet credits nothing', async ({ client, assert }) => {
    const { tenant, purchaseId, sessionId } = await stripePurchase(client)
    const response = await deliver(
      client,
      stripeEvent('checkout.session.completed', {
        id: sessionId,
        amount_total: 1000,
        currency: 'usd',
        payment_status: 'unpaid',
      })
    )
    response.assertStatus(200)
    assert.equal(await statusOf(purchaseId), 'pending')
    assert.deepEqual(await accountOf(tenant.id), { balance: CREDIT, held: 0n })
    assert.deepEqual(await verifyLedger(tenant.id), [])
  })
})
