import { test } from '@japa/runner'
import { DateTime } from 'luxon'
import { insertRuns } from '#tests/analytics/helpers'
import { signedIn } from '#tests/helpers/session'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { AgentFactory } from '#database/factories/agent_factory'

/** The data lines of a CSV body (CRLF lines, header first). */
const lines = (body: string) => body.split('\r\n').filter(Boolean)

test.group('agents / web: runs CSV export', () => {
  test('exports the runs the list shows for the same filters, across keyset pages, newest first', async ({
    client,
    assert,
  }) => {
    const { owner, tenant } = await WorkspaceFactory.create()
    const agent = await AgentFactory.merge({ tenantId: tenant.id, slug: 'writer' }).create()
    const today = DateTime.now().setZone(tenant.timeZone).startOf('day')
    // 2,100 runs of the agent today (three pages of 1,000), 3 failed ones yesterday, 1 model call.
    await insertRuns(
      tenant.id,
      Array.from({ length: 2100 }, (_, i) => ({
        agentId: agent.id,
        memberId: owner.id,
        createdAt: today.plus({ seconds: i }).toJSDate(),
      }))
    )
    await insertRuns(tenant.id, [
      ...[1, 2, 3].map((i) => ({
        agentId: agent.id,
        status: 'failed' as const,
        model: '=cmd|evil',
        createdAt: today.minus({ hours: i }).toJSDate(),
      })),
      { agentId: null, createdAt: today.minus({ days: 3 }).toJSDate() },
    ])
    const web = await signedIn(client, owner)
    const base = `/t/${tenant.slug}`

    const all = await web.get(`${base}/runs.csv`)
    all.assertStatus(200)
    assert.include(all.header('content-type'), 'text/csv')
    assert.match(all.header('content-disposition') ?? '', /attachment; filename="runs-.+\.csv"/)
    const rows = lines(all.text())
    assert.equal(
      rows[0],
      'id,created_at,agent,workflow,status,model,member_id,input_tokens,output_tokens,cost_credits,latency_ms,source,error'
    )
    assert.lengthOf(rows, 1 + 2104)
    const times = rows.slice(1).map((row) => row.split(',')[1])
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first')
    assert.equal(new Set(rows.slice(1).map((row) => row.split(',')[0])).size, 2104, 'no run twice')

    const failed = lines((await web.get(`${base}/runs.csv?status=failed&agent=writer`)).text())
    assert.lengthOf(failed, 1 + 3)
    // A model name that a spreadsheet would run as a formula is defused.
    assert.include(failed[1], ",failed,'=cmd|evil,")

    const day = today.minus({ days: 3 }).toISODate()
    const older = lines((await web.get(`${base}/runs.csv?from=${day}&to=${day}`)).text())
    assert.lengthOf(older, 2)
    assert.match(older[1], /^[0-9a-f-]{36},[^,]+,,,succeeded,/)

    // The list links to the export with its filters.
    const page = (await web.get(`${base}/runs?status=failed&agent=writer`)).text()
    assert.include(page, `href="${base}/runs.csv?agent=writer&amp;status=failed"`)

    // A bad filter is refused before any byte of CSV; another workspace's export is not there.
    const bad = await web.get(`${base}/runs.csv?status=exploded`, { accept: 'application/json' })
    assert.equal(bad.status(), 422)
    const stranger = await WorkspaceFactory.create()
    ;(await (await signedIn(client, stranger.owner)).get(`${base}/runs.csv`)).assertStatus(404)
  })
})
