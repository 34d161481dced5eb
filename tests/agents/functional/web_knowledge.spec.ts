import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import db from '@adonisjs/lucid/services/db'
import KnowledgeDocument from '#agents/models/knowledge_document'
import { addDocument, documentsIdle } from '#agents/actions/manage_documents'
import { vectorSearchAvailable } from '#agents/knowledge/embeddings'
import { MAX_DOCUMENT_BYTES } from '#agents/knowledge/extract'
import { signedIn, type Session } from '#tests/helpers/session'
import { UserFactory } from '#database/factories/user_factory'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { MembershipFactory } from '#database/factories/tenant_factory'

const HTMX = { 'hx-request': 'true' }

const GUIDE = [
  '# Returns policy',
  '',
  'Customers may return unworn shoes within 30 days of delivery for a full refund.',
  '',
  '# Shipping',
  '',
  'Orders ship from our Lyon warehouse within two working days; express delivery costs 9 euros.',
].join('\n')

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex')

async function signedInOwner(client: ApiClient, options: { grant?: bigint } = {}) {
  const workspace = await WorkspaceFactory.create({ ...options, token: true })
  const web = await signedIn(client, workspace.owner)
  return { ...workspace, web, base: `/t/${workspace.tenant.slug}` }
}

/** The file form's action as the page renders it: the CSRF token rides in its query string. */
async function fileAction(web: Session, base: string) {
  const page = await web.get(`${base}/knowledge`)
  page.assertStatus(200)
  const action = /<form method="POST" action="([^"]+)" enctype="multipart\/form-data"/.exec(
    page.text()
  )?.[1]
  if (!action) throw new Error('no multipart form on the knowledge page')
  return action
}

/** Posts a file like the page's multipart form (no `_csrf` in the body: it is in the action). */
function upload(
  client: ApiClient,
  web: Session,
  action: string,
  file: { bytes: Buffer; filename: string; contentType?: string },
  headers: Record<string, string> = {}
) {
  const request = client
    .post(action)
    .header('cookie', web.cookieHeader())
    .header('x-forwarded-for', web.ip)
    .redirects(0)
    .file('file', file.bytes, { filename: file.filename, contentType: file.contentType })
  for (const [name, value] of Object.entries(headers)) request.header(name, value)
  return request
}

/**
 * Waits until every document being indexed is done. The work starts on the next turn of the
 * event loop (setImmediate), and under test it shares the test's one connection: no request may
 * run alongside it.
 */
async function settled() {
  await documentsIdle()
}

function documentsOf(tenantId: string) {
  return KnowledgeDocument.query().where('tenantId', tenantId).orderBy('createdAt')
}

async function chunkCount(documentId: string) {
  const [row] = await db.from('knowledge_chunks').where('document_id', documentId).count('* as n')
  return Number(row.n)
}

test.group('agents / web: knowledge page', () => {
  test('the page lists nothing at first, offers both upload forms and is linked from the navigation', async ({
    client,
    assert,
  }) => {
    const { web, base } = await signedInOwner(client)
    const page = await web.get(`${base}/knowledge`)
    page.assertStatus(200)
    const html = page.text()
    assert.include(html, `<a href="${base}/knowledge" aria-current="page">Knowledge</a>`)
    assert.include(html, 'No documents yet')
    assert.match(
      html,
      /action="[^"]*\/knowledge\/documents\?_csrf=[^"]+" enctype="multipart\/form-data"/
    )
    assert.include(html, 'name="file"')
    assert.include(html, 'accept=".txt,.text,.md,.markdown,.csv,.pdf,')
    assert.include(html, 'name="text"')
    assert.include(html, 'name="q"')
    const note = 'pgvector is not installed on this database: search uses full-text only.'
    if (await vectorSearchAvailable()) assert.notInclude(html, note)
    else assert.include(html, note)
  })

  test('a text file uploaded as multipart with the CSRF token in the query string becomes a row that polls until ready', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    const action = await fileAction(web, base)
    const sent = await upload(client, web, action, {
      bytes: Buffer.from(GUIDE),
      filename: 'guide.md',
    })
    sent.assertStatus(302)
    assert.equal(sent.header('location'), `${base}/knowledge`)
    const [document] = await documentsOf(tenant.id)
    assert.equal(document.name, 'guide.md')
    assert.equal(document.kind, 'markdown')
    assert.equal(document.status, 'processing')

    await settled()
    const page = await web.follow(sent)
    assert.include(page.text(), '&quot;guide.md&quot; was added: it is being indexed.')
    assert.include(page.text(), `id="document-${document.id}"`)
    const row = await web.get(`${base}/knowledge/documents/${document.id}`, HTMX)
    row.assertStatus(200)
    assert.match(row.text().trim(), /^<tr id="document-/)
    assert.include(row.text(), 'data-status="ready"')
    assert.include(row.text(), 'Ready')
    assert.notInclude(row.text(), 'hx-trigger') // polling stops once ready
    await document.refresh()
    assert.equal(document.status, 'ready')
    assert.isAbove(document.chunks, 0)
    assert.isAbove(await chunkCount(document.id), 0)

    // Without htmx the row's address is the page, at that row.
    const plain = await web.get(`${base}/knowledge/documents/${document.id}`)
    plain.assertStatus(302)
    assert.equal(plain.header('location'), `${base}/knowledge#document-${document.id}`)

    // Without the token in the query string the multipart form is refused, nothing stored.
    const forged = await upload(client, web, `${base}/knowledge/documents`, {
      bytes: Buffer.from('forged'),
      filename: 'forged.txt',
    })
    assert.notEqual(forged.header('location'), `${base}/knowledge`)
    await settled()
    assert.lengthOf(await documentsOf(tenant.id), 1)
  })

  test('a processing row polls its own route; with htmx an upload answers the empty forms and the new row on top', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await signedInOwner(client)
    const action = await fileAction(web, base)
    const sent = await upload(
      client,
      web,
      action,
      { bytes: Buffer.from('id,city\n1,Lyon\n2,Paris\n'), filename: 'cities.csv' },
      HTMX
    )
    sent.assertStatus(200)
    await settled()
    const html = sent.text()
    assert.match(html.trim(), /^<div id="knowledge-upload"/)
    assert.include(html, '<hx-partial hx-target="#knowledge-documents" hx-swap="afterbegin">')
    const [document] = await documentsOf(tenant.id)
    assert.equal(document.kind, 'csv')
    assert.include(html, `id="document-${document.id}"`)
    assert.include(html, '&quot;cities.csv&quot; was added')
    await settled()

    // A row still processing (progress 40) shows its bar and polls itself every second.
    const stuck = await addDocument({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'later.txt',
      bytes: Buffer.from('Processed later.'),
      field: 'file',
    })
    await settled()
    await db
      .from('knowledge_documents')
      .where('id', stuck.id)
      .update({ status: 'processing', progress: 40, updated_at: new Date() })
    const row = await web.get(`${base}/knowledge/documents/${stuck.id}`, HTMX)
    assert.include(row.text(), `hx-get="${base}/knowledge/documents/${stuck.id}"`)
    assert.include(row.text(), 'hx-trigger="every 1s"')
    assert.include(row.text(), '<progress max="100" value="40"')
    assert.notInclude(row.text(), 'Re-index') // not while it is being indexed
    const page = await web.get(`${base}/knowledge`)
    assert.include(page.text(), 'hx-trigger="every 1s"')
  })

  test('pasted text becomes a document (no JavaScript and htmx), and the search box finds it with its name and score', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    await web.get(`${base}/knowledge`)
    const sent = await web.submit('POST', `${base}/knowledge/documents`, {
      name: 'Returns policy',
      text: GUIDE,
    })
    sent.assertStatus(302)
    await settled()
    assert.include((await web.follow(sent)).text(), '&quot;Returns policy&quot; was added')
    const viaHtmx = await web.submit(
      'POST',
      `${base}/knowledge/documents`,
      { name: 'Notes', text: 'Plain notes about the Lyon office.' },
      HTMX
    )
    viaHtmx.assertStatus(200)
    await settled()
    assert.include(viaHtmx.text(), '<hx-partial hx-target="#knowledge-documents"')
    const documents = await documentsOf(tenant.id)
    assert.deepEqual(
      documents.map((d) => [d.name, d.kind]),
      [
        ['Returns policy', 'text'],
        ['Notes', 'text'],
      ]
    )

    const found = await web.get(`${base}/knowledge?q=${encodeURIComponent('return shoes 30 days')}`)
    found.assertStatus(200)
    const html = found.text()
    assert.include(html, 'class="knowledge-hit"')
    assert.include(
      html,
      `<a href="#document-${documents[0].id}"><strong>Returns policy</strong></a>`
    )
    assert.match(html, /score <span class="mono">\d+\.\d{4}<\/span>/)
    assert.include(html, 'Customers may return unworn shoes within 30 days')
    assert.include(html, 'value="return shoes 30 days"')

    // Full text alone finds nothing for an absent word (vectors always have a nearest passage).
    if (!(await vectorSearchAvailable())) {
      const nothing = await web.get(`${base}/knowledge?q=zebra`)
      assert.include(nothing.text(), 'Nothing matches "zebra"')
    }
    const long = await web.get(`${base}/knowledge?q=${'a'.repeat(1001)}`)
    long.assertStatus(200)
    assert.include(long.text(), 'Searches are limited to 1000 characters.')
  })

  test('a PNG, an empty file, a file over the limit and empty pasted text are refused next to their field with a friendly message; nothing is stored', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    const action = await fileAction(web, base)

    // Without JavaScript: back to the page, the message under the file input.
    const png = await upload(client, web, action, {
      bytes: PNG,
      filename: 'picture.txt',
      contentType: 'text/plain',
    })
    png.assertStatus(302)
    assert.equal(png.header('location'), `${base}/knowledge`)
    const page = await web.follow(png)
    assert.include(page.text(), 'id="field-knowledge-file-error"')
    assert.match(page.text(), /is not a supported type \(text, Markdown, CSV or PDF\)/)

    // With htmx: the forms alone (422), swapped in place.
    const empty = await upload(
      client,
      web,
      await fileAction(web, base),
      { bytes: Buffer.alloc(0), filename: 'empty.txt' },
      HTMX
    )
    empty.assertStatus(422)
    assert.match(empty.text().trim(), /^<div id="knowledge-upload"/)
    assert.include(empty.text(), 'id="field-knowledge-file-error"')
    assert.include(empty.text(), 'is empty.')

    // Over the limit: refused while it streams in (413), worded for a person, not a 500.
    const big = await upload(
      client,
      web,
      await fileAction(web, base),
      { bytes: Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 'a'), filename: 'big.txt' },
      HTMX
    )
    big.assertStatus(413)
    assert.include(big.text(), 'id="field-knowledge-file-error"')
    assert.include(big.text(), 'The file is larger than the 10 MB limit.')

    // No file at all.
    const none = await client
      .post(await fileAction(web, base))
      .header('cookie', web.cookieHeader())
      .header('hx-request', 'true')
      .redirects(0)
      .field('note', 'no file')
    none.assertStatus(422)
    assert.include(none.text(), 'Choose a file to upload.')

    const blank = await web.submit(
      'POST',
      `${base}/knowledge/documents`,
      { name: '', text: '' },
      HTMX
    )
    blank.assertStatus(422)
    assert.include(blank.text(), 'id="field-knowledge-name-error"')
    assert.include(blank.text(), 'Give the text a name')
    assert.include(blank.text(), 'id="field-knowledge-text-error"')
    assert.include(blank.text(), 'Paste some text first.')

    // Without JavaScript the typed name comes back with the message.
    const noText = await web.submit('POST', `${base}/knowledge/documents`, {
      name: 'Kept name',
      text: '',
    })
    noText.assertStatus(302)
    const again = await web.follow(noText)
    assert.include(again.text(), 'Paste some text first.')
    assert.include(again.text(), 'value="Kept name"')

    assert.lengthOf(await documentsOf(tenant.id), 0)
  })

  test('delete removes the document and its chunks; re-index indexes it again', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant, owner } = await signedInOwner(client)
    const document = await addDocument({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'guide.md',
      bytes: Buffer.from(GUIDE),
      field: 'file',
    })
    await settled()
    const chunks = await chunkCount(document.id)
    assert.isAbove(chunks, 0)

    const page = await web.get(`${base}/knowledge`)
    assert.include(
      page.text(),
      `action="${base}/knowledge/documents/${document.id}?_method=DELETE"`
    )
    assert.include(page.text(), `hx-post="${base}/knowledge/documents/${document.id}/reindexing"`)

    const reindexed = await web.submit(
      'POST',
      `${base}/knowledge/documents/${document.id}/reindexing`,
      {},
      HTMX
    )
    reindexed.assertStatus(200)
    assert.include(reindexed.text(), 'data-status="processing"')
    assert.include(reindexed.text(), 'hx-trigger="every 1s"')
    await settled()
    await document.refresh()
    assert.equal(document.status, 'ready')
    assert.equal(await chunkCount(document.id), chunks)

    const plain = await web.submit('POST', `${base}/knowledge/documents/${document.id}/reindexing`)
    plain.assertStatus(302)
    await settled()

    const deleted = await web.submit('DELETE', `${base}/knowledge/documents/${document.id}`)
    deleted.assertStatus(302)
    assert.equal(deleted.header('location'), `${base}/knowledge`)
    assert.include((await web.follow(deleted)).text(), '&quot;guide.md&quot; was deleted')
    assert.lengthOf(await documentsOf(tenant.id), 0)
    assert.equal(await chunkCount(document.id), 0)
    const [left] = await db.from('knowledge_chunks').where('tenant_id', tenant.id).count('* as n')
    assert.equal(Number(left.n), 0)
  })

  test('a viewer sees the documents and searches, but cannot upload, delete or re-index', async ({
    client,
    assert,
  }) => {
    const { tenant, owner } = await WorkspaceFactory.create()
    const document = await addDocument({
      tenantId: tenant.id,
      actorId: owner.id,
      name: 'guide.md',
      bytes: Buffer.from(GUIDE),
      field: 'file',
    })
    await settled()
    const viewer = await UserFactory.create()
    await MembershipFactory.merge({
      tenantId: tenant.id,
      userId: viewer.id,
      role: 'viewer',
    }).create()
    const web = await signedIn(client, viewer)
    const base = `/t/${tenant.slug}`
    const page = await web.get(`${base}/knowledge`)
    page.assertStatus(200)
    assert.include(page.text(), 'guide.md')
    assert.notInclude(page.text(), 'name="file"')
    assert.notInclude(page.text(), 'Re-index')
    assert.notInclude(page.text(), 'Delete document')

    const pasted = await web.submit('POST', `${base}/knowledge/documents`, {
      name: 'Sneaky',
      text: 'Should not be stored.',
    })
    pasted.assertStatus(403)
    assert.include(pasted.text(), '<html')
    const token = await web.csrfToken()
    const uploaded = await upload(client, web, `${base}/knowledge/documents?_csrf=${token}`, {
      bytes: Buffer.from('nope'),
      filename: 'nope.txt',
    })
    uploaded.assertStatus(403)
    ;(await web.submit('DELETE', `${base}/knowledge/documents/${document.id}`)).assertStatus(403)
    ;(
      await web.submit('POST', `${base}/knowledge/documents/${document.id}/reindexing`)
    ).assertStatus(403)
    assert.lengthOf(await documentsOf(tenant.id), 1)
    // The embedding model is shown, not offered.
    assert.include(page.text(), 'embedded with <code>simulator/embed</code>')
    assert.notInclude(page.text(), 'name="embedding_model"')
    ;(await web.submit('PUT', `${base}/knowledge/settings`, { embedding_model: '' })).assertStatus(
      403
    )
  })

  test('an owner chooses the embedding model on the page; an unknown one is refused next to the field', async ({
    client,
    assert,
  }) => {
    const { web, base, tenant } = await signedInOwner(client)
    const page = await web.get(`${base}/knowledge`)
    assert.include(page.text(), 'name="embedding_model"')
    assert.include(page.text(), 'simulator/embed (free)')
    assert.include(page.text(), 'Off: full-text search only')

    const off = await web.submit('PUT', `${base}/knowledge/settings`, { embedding_model: '' })
    off.assertStatus(302)
    const after = await web.get(`${base}/knowledge`)
    assert.include(after.text(), 'Embedding model: none (full-text search only).')
    assert.include(after.text(), 'Embeddings are off')
    const row = await db.from('knowledge_settings').where('tenant_id', tenant.id).first()
    assert.isNull(row.embedding_model)

    const refused = await web.submit('PUT', `${base}/knowledge/settings`, {
      embedding_model: 'simulator/echo',
    })
    refused.assertStatus(422)
    assert.match(refused.text(), /is not an embedding model of this workspace/)
    assert.isNull(
      (await db.from('knowledge_settings').where('tenant_id', tenant.id).first()).embedding_model
    )
  })

  test("another workspace's document is a 404 for show, delete and re-index", async ({
    client,
    assert,
  }) => {
    const other = await WorkspaceFactory.create()
    const foreign = await addDocument({
      tenantId: other.tenant.id,
      actorId: other.owner.id,
      name: 'secret.txt',
      bytes: Buffer.from('The secret is 4242.'),
      field: 'file',
    })
    await settled()
    const { web, base } = await signedInOwner(client)
    await web.get(`${base}/knowledge`)
    const url = `${base}/knowledge/documents/${foreign.id}`
    assert.equal((await web.get(url, HTMX)).status(), 404)
    assert.equal((await web.get(url)).status(), 404)
    assert.equal((await web.submit('DELETE', url)).status(), 404)
    assert.equal((await web.submit('POST', `${url}/reindexing`)).status(), 404)
    assert.equal((await web.get(`${base}/knowledge/documents/not-a-uuid`, HTMX)).status(), 404)
    await foreign.refresh()
    assert.equal(foreign.status, 'ready')
    const search = await web.get(`${base}/knowledge?q=secret`)
    assert.notInclude(search.text(), '4242')
  })

  test("the run page lists the run's citations, each linked to the knowledge_search step that found it", async ({
    client,
    assert,
  }) => {
    const { web, base, token } = await signedInOwner(client, { grant: 1_000_000n })
    const created = await client
      .post('/api/v1/knowledge/documents')
      .bearerToken(token)
      .json({ name: 'guide.md', text: GUIDE })
    created.assertStatus(201)
    await settled()
    ;(
      await client
        .post('/api/v1/agents')
        .bearerToken(token)
        .json({
          name: 'Support',
          instructions: 'Answer from the documents.',
          model: 'simulator/echo',
          knowledge: { documents: 'all' },
        })
    ).assertStatus(201)
    const run = (
      await client
        .post('/api/v1/agents/support/runs')
        .bearerToken(token)
        .json({ input: '/tool knowledge_search {"query": "express delivery price"}' })
    ).body()
    assert.equal(run.status, 'succeeded')
    const step = run.steps.find((s: any) => s.name === 'knowledge_search')
    assert.isAbove(run.citations.length, 0)

    const page = await web.get(`${base}/runs/${run.id}`)
    page.assertStatus(200)
    assert.include(page.text(), `id="step-${step.position}"`)
    assert.include(page.text(), 'aria-label="Sources"')
    assert.match(page.text(), new RegExp(`<a href="#step-${step.position}"[^>]*>guide\\.md</a>`))
  })
})
