import { test } from '@japa/runner'
import { existsSync, readdirSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import type { ApiClient, ApiResponse } from '@japa/api-client'
import app from '@adonisjs/core/services/app'
import router from '@adonisjs/core/services/router'
import {
  fillPattern,
  paramsOf,
  snapshotOf,
  type IsolationExclusion,
  type IsolationFixture,
  type IsolationWorld,
  type Side,
} from '#tests/tenants/isolation'
import { Session, signedIn } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

type RouteEntry = { pattern: string; methods: string[] }

/** Every registered route pattern with the verbs it answers (HEAD comes with GET). */
function routeTable(): RouteEntry[] {
  const byPattern = new Map<string, Set<string>>()
  for (const routes of Object.values(router.toJSON())) {
    for (const route of routes) {
      const methods = byPattern.get(route.pattern) ?? new Set<string>()
      for (const method of route.methods) methods.add(method.toUpperCase())
      byPattern.set(route.pattern, methods)
    }
  }
  return [...byPattern].map(([pattern, methods]) => ({ pattern, methods: [...methods].sort() }))
}

/** Patterns that address an object: a parameter other than `:tenant`. */
const addressesObject = (pattern: string) => paramsOf(pattern).some((name) => name !== 'tenant')

/** Fixtures and exclusions from every module's `tests/<module>/isolation_fixtures.ts`. */
async function loadRegistry() {
  const fixtures: IsolationFixture[] = []
  const exclusions: IsolationExclusion[] = []
  for (const module of readdirSync(app.makePath('tests'))) {
    if (!existsSync(app.makePath('tests', module, 'isolation_fixtures.ts'))) continue
    const loaded = await import(`#tests/${module}/isolation_fixtures`)
    fixtures.push(...(loaded.fixtures ?? []))
    exclusions.push(...(loaded.exclusions ?? []))
  }
  return { fixtures, exclusions }
}

async function side(name: string): Promise<Side> {
  const owner = await UserFactory.merge({ name: `${name} Owner` }).create()
  const member = await UserFactory.merge({ name: `${name} Member` }).create()
  const { tenant, token } = await WorkspaceFactory.create({
    owner,
    name: `${name}-${randomUUID().slice(0, 6)}`,
    token: true,
  })
  await MembershipFactory.merge({ tenantId: tenant.id, userId: member.id, role: 'member' }).create()
  return { tenant, owner, member, token }
}

/** A as a browser (session + CSRF, method spoofing) or, under /api/, with A's bearer token. */
function requester(client: ApiClient, web: Session, csrf: string, token: string) {
  return async (
    method: string,
    url: string,
    body: Record<string, unknown> = {}
  ): Promise<ApiResponse> => {
    if (url.startsWith('/api/')) {
      const request = client.request(url, method).bearerToken(token).redirects(0).timeout(10_000)
      return ['GET', 'HEAD'].includes(method) ? request : request.json(body)
    }
    if (['GET', 'HEAD'].includes(method)) {
      return client
        .request(url, method)
        .header('cookie', web.cookieHeader())
        .redirects(0)
        .timeout(10_000)
    }
    const target =
      method === 'POST' ? url : `${url}${url.includes('?') ? '&' : '?'}_method=${method}`
    return client
      .post(target)
      .header('cookie', web.cookieHeader())
      .form({ ...body, _csrf: csrf })
      .redirects(0)
      .timeout(10_000)
  }
}

async function world(client: ApiClient) {
  const a = await side('Alpha')
  const b = await side('Beta')
  const web = await signedIn(client, a.owner)
  const send = requester(client, web, await web.csrfToken(), a.token)
  return { world: { a, b, client } satisfies IsolationWorld, send }
}

test.group('tenants / isolation matrix', () => {
  test('every route with an id or slug parameter has a fixture or an exclusion with a reason', async ({
    assert,
  }) => {
    const { fixtures, exclusions } = await loadRegistry()
    const covered = new Set(fixtures.flatMap((fixture) => fixture.routes))
    const excluded = new Map(exclusions.map((exclusion) => [exclusion.route, exclusion.reason]))
    const patterns = routeTable().map((route) => route.pattern)
    const missing = patterns.filter(
      (pattern) => addressesObject(pattern) && !covered.has(pattern) && !excluded.has(pattern)
    )
    assert.deepEqual(
      missing,
      [],
      `routes without an isolation fixture — add one to tests/<module>/isolation_fixtures.ts (or an exclusion with a reason):\n  ${missing.join('\n  ')}`
    )
    assert.deepEqual(
      [...excluded].filter(([, reason]) => reason.trim().length < 10).map(([route]) => route),
      [],
      'every exclusion says why'
    )
    const stale = [...covered, ...excluded.keys()].filter((pattern) => !patterns.includes(pattern))
    assert.deepEqual(
      stale,
      [],
      `fixtures or exclusions for routes that no longer exist:\n  ${stale.join('\n  ')}`
    )
  })

  test("as a member of A, B's object is a 404 on every verb of every such route, and nothing of B changes", async ({
    client,
    assert,
  }) => {
    const { fixtures } = await loadRegistry()
    const { world: w, send } = await world(client)
    const failures: string[] = []
    let requests = 0
    for (const route of routeTable().filter((entry) => addressesObject(entry.pattern))) {
      const fixture = fixtures.find((candidate) => candidate.routes.includes(route.pattern))
      if (!fixture) continue // reported by the coverage test (or excluded with a reason)
      for (const params of ([] as Record<string, string>[]).concat(await fixture.params(w))) {
        const url = fillPattern(route.pattern, { ...params, tenant: w.a.tenant.slug })
        for (const method of route.methods) {
          const before = await snapshotOf(w.b)
          const response = await send(method, url, fixture.body)
          requests++
          if (response.status() !== 404)
            failures.push(`${method} ${url} → ${response.status()} (expected 404)`)
          if ((await snapshotOf(w.b)) !== before)
            failures.push(`${method} ${url} changed tenant B's rows`)
        }
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'))
    assert.isAbove(requests, 5)
  }).timeout(180_000)

  test("B's slug in /t/:tenant/… is a 404 for A's member on every verb, and nothing of B changes", async ({
    client,
    assert,
  }) => {
    const { fixtures } = await loadRegistry()
    const { world: w, send } = await world(client)
    const failures: string[] = []
    for (const route of routeTable().filter((entry) => entry.pattern.startsWith('/t/:tenant'))) {
      const fixture = fixtures.find((candidate) => candidate.routes.includes(route.pattern))
      if (addressesObject(route.pattern) && !fixture) continue
      const [params] = fixture
        ? ([] as Record<string, string>[]).concat(await fixture.params(w))
        : [{}]
      const url = fillPattern(route.pattern, { ...params, tenant: w.b.tenant.slug })
      for (const method of route.methods) {
        const before = await snapshotOf(w.b)
        const response = await send(method, url, fixture?.body)
        if (response.status() !== 404)
          failures.push(`${method} ${url} → ${response.status()} (expected 404)`)
        if ((await snapshotOf(w.b)) !== before)
          failures.push(`${method} ${url} changed tenant B's rows`)
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'))
  }).timeout(180_000)

  test("A's own pages and list endpoints never contain B's objects", async ({ client, assert }) => {
    const { fixtures } = await loadRegistry()
    const { world: w, send } = await world(client)
    // B's object ids and slugs (and B's own identifiers) must appear in none of A's responses.
    const secrets = new Set([
      w.b.tenant.id,
      w.b.tenant.slug,
      w.b.tenant.name,
      w.b.owner.email,
      w.b.member.email,
    ])
    for (const fixture of fixtures) {
      for (const params of ([] as Record<string, string>[]).concat(await fixture.params(w))) {
        for (const value of Object.values(params)) if (value.length >= 8) secrets.add(value)
      }
    }
    const failures: string[] = []
    const lists = routeTable().filter(
      (entry) =>
        (entry.pattern.startsWith('/t/:tenant') || entry.pattern.startsWith('/api/v1/')) &&
        !addressesObject(entry.pattern) &&
        entry.methods.includes('GET')
    )
    for (const route of lists) {
      const url = fillPattern(route.pattern, { tenant: w.a.tenant.slug })
      const response = await send('GET', url)
      const body = response.text() ?? ''
      for (const secret of secrets)
        if (body.includes(secret))
          failures.push(`GET ${url} (${response.status()}) contains B's "${secret}"`)
    }
    assert.deepEqual(failures, [], failures.join('\n'))
    assert.isAbove(lists.length, 3)
  }).timeout(120_000)
})
