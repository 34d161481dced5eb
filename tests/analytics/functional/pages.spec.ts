import { test } from '@japa/runner'
import zlib from 'node:zlib'
import { DateTime } from 'luxon'
import { randomUUID } from 'node:crypto'
import db from '@adonisjs/lucid/services/db'
import { platformReport } from '#analytics/services/platform'
import { insertRuns, projectedRun, type RunShape } from '#tests/analytics/helpers'
import { projectFacts } from '#analytics'
import { Session, signedIn } from '#tests/helpers/session'
import { rawRequest } from '#tests/helpers/raw_http'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { createMembers, MembershipFactory } from '#database/factories/tenant_factory'
import { AgentFactory } from '#database/factories/agent_factory'

/** A Paris workspace with an agent whose name needs CSV escaping, and a few projected runs today. */
async function dashboardWorld() {
  const { owner, tenant } = await WorkspaceFactory.create({ timeZone: 'Europe/Paris' })
  const agent = await AgentFactory.merge({
    tenantId: tenant.id,
    name: '=HYPERLINK("x"), Inc',
    slug: 'hyper',
  }).create()
  const today = DateTime.now().setZone('Europe/Paris').startOf('day')
  const at = (hours: number) => today.plus({ hours, minutes: 5 }).toJSDate()
  await projectedRun(tenant.id, {
    agentId: agent.id,
    memberId: owner.id,
    costMicros: 2_000_000,
    latencyMs: 300,
    createdAt: at(0),
  })
  await projectedRun(tenant.id, {
    agentId: agent.id,
    memberId: owner.id,
    status: 'failed',
    costMicros: 500_000,
    latencyMs: 900,
    createdAt: at(0),
  })
  await projectedRun(tenant.id, {
    agentId: null,
    memberId: owner.id,
    model: 'simulator/lorem',
    costMicros: 1,
    latencyMs: 50,
    createdAt: today.minus({ days: 3 }).plus({ hours: 12 }).toJSDate(),
  })
  return { owner, tenant, agent, today }
}

test.group('analytics / dashboard pages', () => {
  test('the dashboard shows KPIs with changes, the series, breakdowns with drill-down links, errors and burn', async ({
    client,
    assert,
  }) => {
    const { owner, tenant, today } = await dashboardWorld()
    const web = await signedIn(client, owner)
    const page = await web.get(`/t/${tenant.slug}/analytics?range=7d`)
    page.assertStatus(200)
    const html = page.text()
    assert.include(html, '<html')
    assert.match(
      html,
      /id="analytics-dashboard"[^>]*data-live hx-get="\/t\/[^"]+\/analytics\?range=7d&amp;since=\d+" hx-trigger="agora:live"/
    )
    assert.match(
      html,
      /data-testid="kpi-runs">\s*<span class="stat-label">Runs<\/span>\s*<span class="stat-value">3</
    )
    assert.match(html, /data-testid="kpi-success">[\s\S]*?66\.7 %/)
    assert.match(html, /data-testid="kpi-credits">[\s\S]*?stat-value">2\.500001</)
    assert.match(html, /data-testid="kpi-members">[\s\S]*?stat-value">1</)
    assert.include(html, 'new this period')
    const from = today.minus({ days: 6 }).toISODate()
    const to = today.toISODate()
    // Rows and bars drill into the runs list with the same filters.
    assert.include(
      html,
      `href="/t/${tenant.slug}/runs?agent=hyper&amp;from=${from}&amp;to=${to}" hx-boost="true"`
    )
    assert.include(
      html,
      `href="/t/${tenant.slug}/runs?agent=hyper&amp;status=failed&amp;from=${from}&amp;to=${to}"`
    )
    assert.include(html, `hx-get="/t/${tenant.slug}/runs?from=${to}&amp;to=${to}"`)
    assert.include(html, '<title>')
    assert.include(html, 'Direct model calls')
    assert.include(html, '=HYPERLINK(&quot;x&quot;), Inc')
    // 2.500001 credits over the last 7 days, nothing available (no grant): about 0 days left.
    assert.match(
      html,
      /data-testid="burn-forecast">At 0\.357143 credits a day, the 0 available credits last about 0 more days\./
    )
    assert.include(html, `/t/${tenant.slug}/analytics/agents.csv?range=7d`)
  })

  test('htmx range changes get the dashboard fragment alone; the KPI fragment polls on its own', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await dashboardWorld()
    const web = await signedIn(client, owner)
    const fragment = await web.get(`/t/${tenant.slug}/analytics?range=24h`, {
      'HX-Request': 'true',
    })
    fragment.assertStatus(200)
    assert.notInclude(fragment.text(), '<html')
    assert.match(fragment.text().trim(), /^<div id="analytics-dashboard"/)
    assert.include(fragment.text(), 'Last 24 hours')
    // A boosted navigation (e.g. a link from elsewhere) still gets the whole page.
    assert.include(
      (
        await web.get(`/t/${tenant.slug}/analytics`, { 'HX-Request': 'true', 'HX-Boosted': 'true' })
      ).text(),
      '<html'
    )
  })

  test('each bar of the hourly chart opens exactly the runs it counts', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const hour = DateTime.utc().startOf('hour')
    for (const [hoursAgo, count] of [
      [3, 2],
      [1, 1],
    ])
      for (let i = 0; i < count; i++)
        await projectedRun(tenant.id, {
          createdAt: hour
            .minus({ hours: hoursAgo })
            .plus({ minutes: 10 + i })
            .toJSDate(),
        })
    const web = await signedIn(client, owner)
    const page = (await web.get(`/t/${tenant.slug}/analytics?range=24h`)).text()
    const series = page.slice(page.indexOf('id="analytics-series"'))
    const bars = [...series.matchAll(/<a href="([^"]+)"[^>]*><title>[^<]*: (\d+) runs,/g)]
    assert.lengthOf(bars, 24)
    const counted = bars.filter(([, , runs]) => Number(runs) > 0)
    assert.deepEqual(
      counted.map(([, , runs]) => Number(runs)),
      [2, 1]
    )
    for (const [, href, runs] of counted) {
      const list = (await web.get(href.replaceAll('&amp;', '&'))).text()
      assert.include(list, 'data-testid="hour-filter"')
      const rows = list.match(new RegExp(`href="/t/${tenant.slug}/runs/[0-9a-f-]{36}"`, 'g')) ?? []
      assert.lengthOf(rows, Number(runs), href)
    }
    // A malformed hour is a message on the page, never a crash.
    const bad = await web.get(`/t/${tenant.slug}/runs?hour=yesterday`)
    bad.assertStatus(200)
    assert.include(bad.text(), 'Choose an hour from a chart')
  })

  test('live: the dashboard asks with the version it shows; 204 until a run is counted, then the new figures', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await dashboardWorld()
    const web = await signedIn(client, owner)
    const htmx = { 'HX-Request': 'true' }
    const runsKpi = (html: string) =>
      /kpi-runs">\s*<span class="stat-label">Runs<\/span>\s*<span class="stat-value">(\d+)</.exec(
        html
      )?.[1]
    const page = (await web.get(`/t/${tenant.slug}/analytics?range=30d`)).text()
    const liveUrl = /data-live hx-get="([^"]+)" hx-trigger="agora:live"/
      .exec(page)?.[1]
      ?.replaceAll('&amp;', '&')
    assert.match(liveUrl ?? '', /range=30d&since=\d+/)
    // Hover details of a bar: value, period and the change from the bar before.
    assert.match(
      page,
      /<title>[^<]+: \d+ runs, \d+ errors, [\d.]+ credits \((same as|[+−]\d+ on) the bar before\)<\/title>/
    )
    const before = runsKpi(page)

    const unchanged = await web.get(liveUrl!, htmx)
    unchanged.assertStatus(204)
    assert.equal(unchanged.text(), '')
    // Without htmx (a bookmarked URL), the page itself.
    assert.include((await web.get(liveUrl!)).text(), '<html')

    await projectedRun(tenant.id, {})
    const changed = await web.get(liveUrl!, htmx)
    changed.assertStatus(200)
    assert.match(changed.text().trim(), /^\{\{--|^<div id="analytics-dashboard"/)
    assert.equal(Number(runsKpi(changed.text())), Number(before) + 1)
    const next = /data-live hx-get="([^"]+)"/.exec(changed.text())![1].replaceAll('&amp;', '&')
    assert.notEqual(next, liveUrl)
    ;(await web.get(next, htmx)).assertStatus(204)
  })

  test('a bad custom range shows why and falls back to the last 7 days', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await dashboardWorld()
    const web = await signedIn(client, owner)
    const page = await web.get(
      `/t/${tenant.slug}/analytics?range=custom&from=2026-03-10&to=2026-03-01`
    )
    page.assertStatus(200)
    assert.include(page.text(), 'The end date must be on or after the start date.')
    assert.include(page.text(), 'Last 7 days')
  })

  test('CSV exports: one per table, RFC 4180 escaping, formula-guarded labels', async ({
    client,
    assert,
  }) => {
    const { owner, tenant, agent } = await dashboardWorld()
    const web = await signedIn(client, owner)
    const agents = await web.get(`/t/${tenant.slug}/analytics/agents.csv?range=7d`)
    agents.assertStatus(200)
    assert.include(agents.header('content-type'), 'text/csv')
    assert.match(
      agents.header('content-disposition') ?? '',
      /attachment; filename="analytics-agents-/
    )
    const lines = agents.text().split('\r\n')
    assert.equal(
      lines[0],
      'key,label,runs,succeeded,errors,input_tokens,output_tokens,credits,latency_p50_ms,latency_p95_ms'
    )
    assert.match(
      lines[1],
      new RegExp(`^${agent.id},"'=HYPERLINK\\(""x""\\), Inc",2,1,1,20,10,2\\.5,`)
    )
    assert.match(lines[2], /^,Direct model calls,1,1,0,10,5,0\.000001,50,50$/)
    assert.equal(lines.at(-1), '')
    const days = (await web.get(`/t/${tenant.slug}/analytics/days.csv?range=7d`))
      .text()
      .split('\r\n')
    assert.lengthOf(days, 1 + 7 + 1)
    const errors = (await web.get(`/t/${tenant.slug}/analytics/errors.csv?range=7d`))
      .text()
      .split('\r\n')
    assert.equal(
      errors[0],
      'dimension,key,label,runs,succeeded,errors,input_tokens,output_tokens,credits,latency_p50_ms,latency_p95_ms'
    )
    assert.match(errors[1], /^agent,/)
    assert.match(errors[2], /^model,simulator\/echo,simulator\/echo,2,1,1,/)
    for (const table of ['members', 'models'])
      (await web.get(`/t/${tenant.slug}/analytics/${table}.csv`)).assertStatus(200)
  })

  test('isolation: another workspace sees only its own figures; non-members get 404', async ({
    client,
    assert,
  }) => {
    const { tenant } = await dashboardWorld()
    const other = await WorkspaceFactory.create()
    const web = await signedIn(client, other.owner)
    const own = (await web.get(`/t/${other.tenant.slug}/analytics`)).text()
    assert.match(
      own,
      /kpi-runs">\s*<span class="stat-label">Runs<\/span>\s*<span class="stat-value">0</
    )
    assert.notInclude(own, 'HYPERLINK')
    for (const url of ['/analytics', '/analytics/agents.csv', '/analytics/days.csv']) {
      const response = await web.get(`/t/${tenant.slug}${url}`)
      response.assertStatus(404)
      assert.notInclude(response.text(), 'HYPERLINK')
    }
    // A viewer of the workspace may read its analytics.
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    ;(await (await signedIn(client, viewer)).get(`/t/${tenant.slug}/analytics`)).assertStatus(200)
  })

  test('platform analytics: 404 unless platform admin; admins see tenants, error rates and growth', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await dashboardWorld()
    ;(await new Session(client).get('/admin/analytics')).assertStatus(404)
    ;(await (await signedIn(client, owner)).get('/admin/analytics')).assertStatus(404)
    const admin = await UserFactory.apply('platformAdmin').create()
    const page = await (await signedIn(client, admin)).get('/admin/analytics')
    page.assertStatus(200)
    const html = page.text()
    assert.include(html, 'Top workspaces by spend')
    assert.include(html, tenant.slug)
    assert.include(html, 'simulator/echo')
    assert.match(html, /50\.0 %/) // echo: 1 failed of 2
    assert.include(html, 'New workspaces per week')
  })

  test('the dashboard goes out as one gzip stitched around its cached figures, byte for byte the page', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await dashboardWorld()
    const web = await signedIn(client, owner)
    const path = `/t/${tenant.slug}/analytics?range=30d`
    const load = async (encoding: string) => {
      const answer = await rawRequest(path, {
        'cookie': web.cookieHeader(),
        'x-forwarded-for': web.ip,
        'accept-encoding': encoding,
      })
      assert.equal(answer.status, 200)
      return answer
    }
    // Per-response parts: the CSRF token and the time the figures were read.
    const stable = (html: string) =>
      html
        .replaceAll(/name="csrf-token" content="([^"]+)"/.exec(html)![1], 'TOKEN')
        .replace(/Updated \d\d:\d\d:\d\d/, '')
    const plain = await load('identity')
    assert.isUndefined(plain.headers['content-encoding'])
    const page = stable(plain.body.toString())
    assert.include(page, 'id="analytics-series"')
    assert.include(page, 'id="analytics-breakdowns"')
    // Twice: the second answer reuses the cached figures' compressed bytes.
    for (const round of [1, 2]) {
      const gzip = await load('gzip, deflate, br')
      assert.equal(gzip.headers['content-encoding'], 'gzip', `round ${round}`)
      assert.equal(Number(gzip.headers['content-length']), gzip.body.length)
      assert.isBelow(gzip.body.length, plain.body.length / 4)
      assert.equal(stable(zlib.gunzipSync(gzip.body).toString()), page)
    }
  })

  test('dashboard cache: a repeat is a hit, a new run invalidates it; /metrics shows the counters and ratio', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await dashboardWorld()
    const web = await signedIn(client, owner)
    const metric = async (name: string) => {
      const text = (await client.get('/metrics')).text()
      return Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? 0)
    }
    const hits = () => metric('analytics_cache_requests_total\\{result="hit"\\}')
    const misses = () => metric('analytics_cache_requests_total\\{result="miss"\\}')
    const [h0, m0] = [await hits(), await misses()]
    await web.get(`/t/${tenant.slug}/analytics?range=30d`)
    await web.get(`/t/${tenant.slug}/analytics?range=30d`)
    assert.equal(await misses(), m0 + 1)
    assert.equal(await hits(), h0 + 1)
    await projectedRun(tenant.id, {})
    const fresh = await web.get(`/t/${tenant.slug}/analytics?range=30d`)
    assert.equal(await misses(), m0 + 2)
    assert.match(
      fresh.text(),
      /kpi-runs">\s*<span class="stat-label">Runs<\/span>\s*<span class="stat-value">4</
    )
    const ratio = await metric('analytics_cache_hit_ratio')
    assert.isAbove(ratio, 0)
    assert.isAtMost(ratio, 1)
  })
})

test.group('analytics / platform page', () => {
  test('two workspaces whose models share a name are counted apart, each under its own provider', async ({
    assert,
  }) => {
    const name = `dup-${randomUUID().slice(0, 8)}`
    const workspace = async (runs: RunShape[]) => {
      const { tenant } = await WorkspaceFactory.create()
      const [provider] = await db
        .table('providers')
        .insert({
          tenant_id: tenant.id,
          slug: `p-${randomUUID().slice(0, 8)}`,
          name: 'Own provider',
          kind: 'openai_compatible',
          base_url: 'https://example.test/v1',
        })
        .returning(['id', 'slug'])
      await db.table('models').insert({
        tenant_id: tenant.id,
        provider_id: provider.id,
        name,
        input_price_micros: 1,
        output_price_micros: 1,
        context_window: 8000,
      })
      for (const run of runs) await projectedRun(tenant.id, { model: name, ...run })
      return provider.slug as string
    }
    const first = await workspace([{}, {}])
    const second = await workspace([{ status: 'failed' }])
    const rows = (await platformReport()).models.filter((row) => row.model === name)
    assert.sameDeepMembers(rows, [
      { provider: first, model: name, runs: 2, errors: 0 },
      { provider: second, model: name, runs: 1, errors: 1 },
    ])
  })
})

test.group('analytics / drill-down', () => {
  test('each member and model row links to the runs list of exactly its runs', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const colleague = await UserFactory.merge({ name: 'Colleague Cee' }).create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: colleague.id,
      role: 'member',
    }).create()
    const runs: RunShape[] = [
      { memberId: owner.id, model: 'simulator/echo' },
      { memberId: owner.id, model: 'simulator/lorem', status: 'failed' },
      { memberId: colleague.id, model: 'simulator/echo' },
      { memberId: colleague.id, model: 'simulator/echo', status: 'failed' },
      { memberId: colleague.id, model: 'simulator/lorem' },
    ]
    for (const run of runs) await projectedRun(tenant.id, run)
    const web = await signedIn(client, owner)
    const html = (await web.get(`/t/${tenant.slug}/analytics?range=7d`)).text()
    const linkOf = (label: string) => {
      const escaped = label.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
      const found = new RegExp(`<a href="([^"]+)" hx-boost="true">${escaped}</a>`).exec(html)
      assert.exists(found, `a drill-down link for ${label}`)
      return found![1].replaceAll('&amp;', '&')
    }
    const listed = async (url: string) =>
      ((await web.get(url)).text().match(/<tr>/g) ?? []).length - 1 // minus the header row
    const expected: [string, number][] = [
      [owner.name, 2],
      ['Colleague Cee', 3],
      ['simulator/echo', 3],
      ['simulator/lorem', 2],
    ]
    for (const [label, count] of expected) {
      const url = linkOf(label)
      assert.match(url, /[?&](member|model)=/, label)
      assert.equal(await listed(url), count, label)
    }
  })
})

test.group('analytics / long breakdowns', () => {
  test('a breakdown shows its top 10 rows; "Show all" swaps in every row, kept by the live refresh', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    // 12 members: member i ran i + 1 times (the owner 13), so the order is known.
    const members = [
      owner,
      ...(await createMembers(tenant.id, 11, (i) => ({
        name: `Member ${String(i).padStart(2, '0')}`,
      }))),
    ]
    const shapes: RunShape[] = members.flatMap((user, i) =>
      Array.from({ length: user === owner ? 13 : i + 1 }, () => ({ memberId: user.id }))
    )
    await projectFacts(await insertRuns(tenant.id, shapes))
    const web = await signedIn(client, owner)
    const memberRows = (html: string) => {
      const section = html.slice(html.indexOf('id="analytics-members"'))
      return [
        ...section
          .slice(0, section.indexOf('</section>'))
          .matchAll(/<td><a href="[^"]+" hx-boost="true">([^<]+)<\/a><\/td>/g),
      ].map(([, label]) => label)
    }
    const toggle = (html: string) =>
      /data-testid="breakdown-toggle">([^<]+)</.exec(
        html.slice(html.indexOf('id="analytics-members"'))
      )?.[1]
    const page = (await web.get(`/t/${tenant.slug}/analytics?range=7d`)).text()
    assert.deepEqual(memberRows(page), [
      owner.name,
      ...Array.from({ length: 9 }, (_, i) => `Member ${String(10 - i).padStart(2, '0')}`),
    ])
    assert.equal(toggle(page), 'Show all 12 members')
    const all =
      /href="([^"]+)" hx-get="[^"]+" hx-target="#analytics-dashboard"[^>]*data-testid="breakdown-toggle">Show all 12 members/
        .exec(page)![1]
        .replaceAll('&amp;', '&')
    assert.equal(all, `/t/${tenant.slug}/analytics?range=7d&all=member#analytics-members`)

    const expanded = await web.get(all.split('#')[0], { 'HX-Request': 'true' })
    expanded.assertStatus(200)
    assert.lengthOf(memberRows(expanded.text()), 12)
    assert.equal(toggle(expanded.text()), 'Show the top 10')
    // The live refresh asks for the expanded dashboard, so a new run does not fold it.
    const liveUrl = /data-live hx-get="([^"]+)"/.exec(expanded.text())![1].replaceAll('&amp;', '&')
    assert.match(liveUrl, /[?&]all=member&since=/)
    await projectedRun(tenant.id, { memberId: owner.id })
    const refreshed = await web.get(liveUrl, { 'HX-Request': 'true' })
    refreshed.assertStatus(200)
    assert.lengthOf(memberRows(refreshed.text()), 12)
    // Agents and models have fewer rows than the top: no toggle; a bogus `all` is ignored.
    const bogus = await web.get(`/t/${tenant.slug}/analytics?range=7d&all=everything`)
    bogus.assertStatus(200)
    assert.lengthOf(memberRows(bogus.text()), 10)
    assert.equal((bogus.text().match(/data-testid="breakdown-toggle"/g) ?? []).length, 1)
  })
})

test.group('analytics / errors by type', () => {
  /** The "By error type" rows of a dashboard page: type, link, label and count, in order. */
  function errorTypeRows(html: string) {
    const section = html.slice(html.indexOf('id="analytics-error-types"'))
    const table = section.slice(0, section.indexOf('</section>'))
    return [
      ...table.matchAll(
        /<tr data-error-type="([^"]+)">\s*<td><a href="([^"]+)" hx-boost="true">([^<]+)<\/a><\/td>\s*<td class="num">([\d,]+)<\/td>/g
      ),
    ].map(([, type, href, label, runs]) => ({
      type,
      href: href.replaceAll('&amp;', '&'),
      label,
      runs: Number(runs.replaceAll(',', '')),
    }))
  }

  test('each error-type row links to the runs list of exactly the failed runs it counts', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create({ timeZone: 'Europe/Paris' })
    const now = DateTime.now()
    const recent = (minutes: number) => now.minus({ minutes }).toJSDate()
    const shapes: RunShape[] = [
      { status: 'failed', errorType: 'timeout', createdAt: recent(5) },
      { status: 'failed', errorType: 'timeout', createdAt: recent(50) },
      { status: 'failed', errorType: 'timeout', createdAt: now.minus({ days: 3 }).toJSDate() },
      { status: 'failed', errorType: 'rate_limited', createdAt: recent(10) },
      { status: 'failed', errorType: 'rate_limited', createdAt: recent(20) },
      { status: 'failed', errorType: 'budget_exceeded', createdAt: recent(30) },
      { status: 'succeeded', createdAt: recent(5) },
      { status: 'cancelled', createdAt: recent(5) },
      // Outside the last 7 days: neither counted nor listed.
      { status: 'failed', errorType: 'timeout', createdAt: now.minus({ days: 20 }).toJSDate() },
    ]
    for (const shape of shapes) await projectedRun(tenant.id, shape)
    const web = await signedIn(client, owner)
    const html = (await web.get(`/t/${tenant.slug}/analytics?range=7d`)).text()
    const rows = errorTypeRows(html)
    assert.deepEqual(
      rows.map(({ type, label, runs }) => [type, label, runs]),
      [
        ['timeout', 'Timed out', 3],
        ['rate_limited', 'Rate limited by the provider', 2],
        ['budget_exceeded', 'Budget exceeded', 1],
      ]
    )
    assert.notInclude(html, 'data-testid="unclassified-errors"')
    const today = DateTime.now().setZone('Europe/Paris').startOf('day')
    const from = today.minus({ days: 6 }).toISODate()
    const to = today.toISODate()
    for (const row of rows) {
      assert.equal(
        row.href,
        `/t/${tenant.slug}/runs?status=failed&error=${row.type}&from=${from}&to=${to}`
      )
      const list = await web.get(row.href)
      list.assertStatus(200)
      const listed = list
        .text()
        .match(new RegExp(`href="/t/${tenant.slug}/runs/[0-9a-f-]{36}"`, 'g'))
      assert.lengthOf(listed ?? [], row.runs, row.type)
    }
  })

  test('the last 24 hours count exactly their hours (hourly rows), not the days around them', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const hour = DateTime.utc().startOf('hour')
    await projectedRun(tenant.id, {
      status: 'failed',
      errorType: 'timeout',
      createdAt: hour.minus({ hours: 2 }).plus({ minutes: 5 }).toJSDate(),
    })
    await projectedRun(tenant.id, {
      status: 'failed',
      errorType: 'rate_limited',
      createdAt: hour.minus({ hours: 30 }).toJSDate(),
    })
    const web = await signedIn(client, owner)
    const day = errorTypeRows((await web.get(`/t/${tenant.slug}/analytics?range=7d`)).text())
    assert.sameMembers(
      day.map((row) => row.type),
      ['timeout', 'rate_limited']
    )
    const html = (await web.get(`/t/${tenant.slug}/analytics?range=24h`)).text()
    assert.deepEqual(
      errorTypeRows(html).map(({ type, runs }) => [type, runs]),
      [['timeout', 1]]
    )
    assert.include(html, '1 failed runs in this range')
  })
})
