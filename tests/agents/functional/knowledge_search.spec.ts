import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { withTenant } from '#tenants'
import { WorkspaceFactory } from '#database/factories/workspace_factory'
import { vectorSearchAvailable } from '#agents/knowledge/embeddings'
import { indexDocumentChunks, searchChunks, type SearchMode } from '#agents/knowledge/search'
import { simulatorEmbedding } from '#agents/providers/embeddings'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'

/*
 * A small labelled corpus: twelve topics of three passages, some sharing words across topics
 * (chain, battery, filter, temperature) so a query's words alone do not settle it.
 */
const CORPUS: Record<string, { document: string; passages: Record<string, string> }> = {
  baking: {
    document: 'Sourdough notes',
    passages: {
      b1: 'Feed the sourdough starter with equal weights of flour and water every twelve hours until it doubles.',
      b2: 'A long cold proof in the refrigerator overnight gives the loaf a more sour flavour and a blistered crust.',
      b3: 'Bake the bread in a preheated Dutch oven at 250 °C with the lid on for the first twenty minutes to trap steam.',
    },
  },
  garden: {
    document: 'Vegetable garden',
    passages: {
      g1: 'Tomato seedlings need at least eight hours of direct sun; pinch off the suckers between stem and branch.',
      g2: 'Blossom end rot on tomatoes comes from uneven watering, which stops the fruit from taking up calcium.',
      g3: 'Rotate crops each year so that soil diseases and pests do not build up in the same bed.',
    },
  },
  bicycle: {
    document: 'Bicycle maintenance',
    passages: {
      c1: 'Clean the bicycle chain with a degreaser, dry it, then apply one drop of lubricant to each roller.',
      c2: 'A squeaking or grinding drivetrain usually means the chain is dry or worn; measure wear with a chain checker.',
      c3: 'Inflate road tyres to the pressure printed on the sidewall and check it weekly with a gauge.',
    },
  },
  coffee: {
    document: 'Brewing coffee at home',
    passages: {
      k1: 'For pour-over coffee use a medium-fine grind and water just off the boil, around 94 °C.',
      k2: 'Espresso that tastes sour is under-extracted: grind finer or raise the brew temperature.',
      k3: 'Descale the espresso machine monthly with citric acid so limescale does not block the boiler.',
    },
  },
  database: {
    document: 'PostgreSQL operations',
    passages: {
      d1: 'Autovacuum reclaims dead tuples; lower autovacuum_vacuum_scale_factor on large, busy tables.',
      d2: 'Table bloat grows when long-running transactions keep old row versions alive and vacuum cannot remove them.',
      d3: 'The client fails with ECONNREFUSED when the server is not listening on the configured host and port.',
    },
  },
  security: {
    document: 'Account security',
    passages: {
      s1: 'Turn on two-factor authentication with a TOTP app so a stolen password alone cannot open the account.',
      s2: 'Store passwords with Argon2id, a memory-hard hash that makes guessing attacks expensive.',
      s3: 'Recovery codes let you sign in when you lose the phone that holds your authenticator.',
    },
  },
  running: {
    document: 'Marathon training',
    passages: {
      r1: 'Increase weekly running mileage by no more than ten percent to avoid overuse injuries.',
      r2: 'The long run builds endurance: run it slowly, at a pace where you can still hold a conversation.',
      r3: 'Taper for two weeks before the marathon, cutting volume while keeping some race-pace efforts.',
    },
  },
  houseplants: {
    document: 'Houseplant care',
    passages: {
      h1: 'Overwatering is the commonest way to kill a houseplant: let the top of the soil dry between waterings.',
      h2: 'Yellow leaves on a monstera often mean the roots are sitting in soggy compost.',
      h3: 'Most houseplants prefer bright indirect light; a south window can scorch their leaves.',
    },
  },
  bees: {
    document: 'Beekeeping',
    passages: {
      e1: 'Check hives for varroa mites in late summer and treat before the winter bees are raised.',
      e2: 'A colony preparing to swarm builds queen cells along the bottom edges of the frames.',
      e3: 'Leave enough honey in the hive for the bees to survive winter, about twenty kilograms.',
    },
  },
  ev: {
    document: 'Electric car ownership',
    passages: {
      v1: 'Fast chargers with a CCS2 connector deliver up to 150 kW to most European electric cars.',
      v2: 'Keeping the battery between 20 and 80 percent slows degradation of lithium-ion cells.',
      v3: 'Cold weather reduces an electric vehicle range because the battery and cabin must be heated.',
    },
  },
  billing: {
    document: 'Billing FAQ',
    passages: {
      i1: 'Invoices are issued on the first day of each month and are payable within thirty days.',
      i2: 'Refunds are returned to the original card within five to ten business days.',
      i3: 'To change the billing address, open account settings and edit the payment details.',
    },
  },
  astronomy: {
    document: 'Stargazing',
    passages: {
      a1: 'A Dobsonian telescope gives the largest aperture for the money, ideal for faint galaxies.',
      a2: 'Let your eyes adapt to the dark for twenty minutes and use a red torch to keep night vision.',
      a3: 'Jupiter and its four largest moons are visible with ordinary binoculars on a clear night.',
    },
  },
}

/** Queries with the passages that answer them: keywords where exact terms matter, paraphrases. */
const QUERIES: { query: string; relevant: string[] }[] = [
  // exact terms
  { query: 'ECONNREFUSED', relevant: ['d3'] },
  { query: 'autovacuum_vacuum_scale_factor', relevant: ['d1'] },
  { query: 'TOTP', relevant: ['s1'] },
  { query: 'CCS2 connector', relevant: ['v1'] },
  { query: 'varroa', relevant: ['e1'] },
  { query: 'Dobsonian telescope', relevant: ['a1'] },
  { query: 'Argon2id password hashing', relevant: ['s2'] },
  // partial word overlap: a question phrased differently from the passages
  { query: 'why does my bike chain squeak when I ride', relevant: ['c1', 'c2'] },
  { query: 'my sourdough bread is not sour enough', relevant: ['b2', 'b1'] },
  { query: 'how often should I water a houseplant with yellow leaves', relevant: ['h1', 'h2'] },
  { query: 'espresso tastes sour what grind should I use', relevant: ['k2', 'k1'] },
  { query: 'how do I make my electric car battery last longer', relevant: ['v2', 'v3'] },
  { query: 'when will I get my money back after a refund', relevant: ['i2'] },
  { query: 'vacuum cannot remove dead rows because of long transactions', relevant: ['d2', 'd1'] },
  { query: 'I lost my phone with the authenticator app', relevant: ['s3', 's1'] },
  { query: 'how much should I increase my running distance each week', relevant: ['r1', 'r2'] },
  { query: 'bees swarming queen cells', relevant: ['e2'] },
  { query: 'tomato fruit rot and watering', relevant: ['g2', 'g1'] },
  { query: 'what can I see in the night sky with binoculars', relevant: ['a3', 'a2'] },
  { query: 'marathon taper weeks before the race', relevant: ['r3'] },
]

type Seeded = { tenantId: string; chunkOf: Map<string, string>; documentOf: Map<string, string> }

/** Writes the corpus as ready documents of a workspace (one per topic), chunks through RLS. */
async function seedCorpus(tenantId: string): Promise<Seeded> {
  const chunkOf = new Map<string, string>()
  const documentOf = new Map<string, string>()
  await withTenant(tenantId, async (trx) => {
    for (const { document, passages } of Object.values(CORPUS)) {
      const [row] = await trx
        .insertQuery()
        .table('knowledge_documents')
        .insert(documentRow(tenantId, document, 'ready', Object.keys(passages).length))
        .returning('id')
      const labels = Object.keys(passages)
      await indexWithSimulator(
        tenantId,
        row.id,
        labels.map((label, position) => ({ position, text: passages[label] })),
        trx
      )
      const chunks = await trx
        .from('knowledge_chunks')
        .where('document_id', row.id)
        .orderBy('position')
        .select('id', 'position')
      for (const chunk of chunks) {
        chunkOf.set(labels[chunk.position], chunk.id)
        documentOf.set(labels[chunk.position], row.id)
      }
    }
  })
  return { tenantId, chunkOf, documentOf }
}

/** Chunks written with simulator/embed vectors, as a workspace on the default model gets them. */
function indexWithSimulator(
  tenantId: string,
  documentId: string,
  chunks: { position: number; text: string }[],
  trx: TransactionClientContract
) {
  const vectors = chunks.map((chunk) => simulatorEmbedding(chunk.text))
  return indexDocumentChunks(tenantId, documentId, chunks, trx, vectors)
}

function documentRow(tenantId: string, name: string, status: string, chunks = 0) {
  return {
    embedding_model: 'simulator/embed',
    tenant_id: tenantId,
    name,
    media_type: 'text/plain',
    kind: 'text',
    bytes: 0,
    content: Buffer.from(''),
    status,
    chunks,
    progress: status === 'ready' ? 100 : 0,
  }
}

async function recallAt5(seeded: Seeded, mode: SearchMode) {
  let sum = 0
  let answeredIn: SearchMode | null = null
  for (const { query, relevant } of QUERIES) {
    const result = await searchChunks(seeded.tenantId, query, { mode, limit: 5 })
    answeredIn = result.mode
    const found = new Set(result.data.map((hit) => hit.chunk_id))
    sum +=
      relevant.filter((label) => found.has(seeded.chunkOf.get(label)!)).length / relevant.length
  }
  return { recall: sum / QUERIES.length, mode: answeredIn }
}

test.group('agents / knowledge: search', () => {
  test('hybrid search recalls at least as much as full text or vectors alone (recall@5)', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const seeded = await seedCorpus(tenant.id)
    const fulltext = await recallAt5(seeded, 'fulltext')
    const vector = await recallAt5(seeded, 'vector')
    const hybrid = await recallAt5(seeded, 'hybrid')
    const available = await vectorSearchAvailable()
    console.log(
      `[knowledge] recall@5 over ${QUERIES.length} queries: fulltext ${fulltext.recall.toFixed(3)}, ` +
        `vector ${vector.recall.toFixed(3)} (${vector.mode}), hybrid ${hybrid.recall.toFixed(3)} (${hybrid.mode})`
    )
    assert.equal(fulltext.mode, 'fulltext')
    assert.equal(vector.mode, available ? 'vector' : 'fulltext')
    assert.equal(hybrid.mode, available ? 'hybrid' : 'fulltext')
    assert.isAtLeast(hybrid.recall, fulltext.recall)
    assert.isAtLeast(hybrid.recall, vector.recall)
    assert.isAtLeast(hybrid.recall, 0.8)
  })

  test('exact terms come first, with the document and a score', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create()
    const seeded = await seedCorpus(tenant.id)
    for (const mode of ['hybrid', 'fulltext', 'vector'] as const) {
      const { data } = await searchChunks(tenant.id, 'ECONNREFUSED', { mode })
      assert.equal(data[0].chunk_id, seeded.chunkOf.get('d3'), mode)
      assert.equal(data[0].document_id, seeded.documentOf.get('d3'))
      assert.equal(data[0].document_name, 'PostgreSQL operations')
      assert.include(data[0].text, 'ECONNREFUSED')
      assert.isAbove(data[0].score, 0)
      for (let i = 1; i < data.length; i++) assert.isAtMost(data[i].score, data[i - 1].score)
    }
  })

  test("another workspace's chunks never come back, in any mode", async ({ assert }) => {
    const { tenant: mine } = await WorkspaceFactory.create()
    const { tenant: theirs } = await WorkspaceFactory.create({ name: 'Globex' })
    const ours = await seedCorpus(mine.id)
    const foreign = await seedCorpus(theirs.id)
    const foreignChunks = new Set(foreign.chunkOf.values())
    const foreignDocuments = [...new Set(foreign.documentOf.values())]
    for (const mode of ['hybrid', 'fulltext', 'vector'] as const)
      for (const { query } of QUERIES) {
        const { data } = await searchChunks(mine.id, query, { mode, limit: 50 })
        assert.isNotEmpty(data, `${mode}: ${query}`)
        for (const hit of data) assert.isFalse(foreignChunks.has(hit.chunk_id), `${mode}: ${query}`)
        // Naming the other workspace's documents finds nothing either.
        const named = await searchChunks(mine.id, query, { mode, documentIds: foreignDocuments })
        assert.deepEqual(named.data, [])
      }
    // Bound to the tenant (row-level security), the same search sees the same rows.
    const bound = await withTenant(mine.id, (trx) =>
      searchChunks(mine.id, 'chain lubricant', { client: trx })
    )
    assert.include(
      bound.data.map((hit) => hit.chunk_id),
      ours.chunkOf.get('c1')!
    )
  })

  test('only ready documents are searched; documentIds narrows the search', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create()
    const seeded = await seedCorpus(tenant.id)
    await withTenant(tenant.id, async (trx) => {
      for (const status of ['processing', 'failed']) {
        const [row] = await trx
          .insertQuery()
          .table('knowledge_documents')
          .insert(documentRow(tenant.id, `Half-done ${status}`, status))
          .returning('id')
        await indexWithSimulator(
          tenant.id,
          row.id,
          [{ position: 0, text: 'ECONNREFUSED again' }],
          trx
        )
      }
    })
    for (const mode of ['hybrid', 'fulltext', 'vector'] as const) {
      const { data } = await searchChunks(tenant.id, 'ECONNREFUSED', { mode, limit: 50 })
      assert.notInclude(
        data.map((hit) => hit.document_name),
        'Half-done processing'
      )
      assert.notInclude(
        data.map((hit) => hit.document_name),
        'Half-done failed'
      )

      const billing = seeded.documentOf.get('i1')!
      const narrowed = await searchChunks(tenant.id, 'refund to the card', {
        mode,
        documentIds: [billing, 'not-a-uuid'],
        limit: 50,
      })
      assert.isNotEmpty(narrowed.data)
      for (const hit of narrowed.data) assert.equal(hit.document_id, billing)
    }
  })

  test('full text falls back to any of the words when no chunk has them all', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const seeded = await seedCorpus(tenant.id)
    const { data, mode } = await searchChunks(tenant.id, 'refunds for my spaceship', {
      mode: 'fulltext',
    })
    assert.equal(mode, 'fulltext')
    assert.equal(data[0].chunk_id, seeded.chunkOf.get('i2'))

    const phrase = await searchChunks(tenant.id, '"dutch oven"', { mode: 'fulltext' })
    assert.deepEqual(
      phrase.data.map((hit) => hit.chunk_id),
      [seeded.chunkOf.get('b3')]
    )
    assert.deepEqual((await searchChunks(tenant.id, '   ')).data, [])
  })

  test('limit defaults to 5 and is capped at 50', async ({ assert }) => {
    const { tenant } = await WorkspaceFactory.create()
    await withTenant(tenant.id, async (trx) => {
      const [row] = await trx
        .insertQuery()
        .table('knowledge_documents')
        .insert(documentRow(tenant.id, 'Repetitive', 'ready'))
        .returning('id')
      await indexWithSimulator(
        tenant.id,
        row.id,
        Array.from({ length: 80 }, (_, position) => ({
          position,
          text: `Note ${position} about the quarterly roadmap review.`,
        })),
        trx
      )
    })
    for (const mode of ['hybrid', 'fulltext', 'vector'] as const) {
      assert.lengthOf((await searchChunks(tenant.id, 'roadmap review', { mode })).data, 5)
      assert.lengthOf(
        (await searchChunks(tenant.id, 'roadmap review', { mode, limit: 500 })).data,
        50
      )
    }
  })

  test('without pgvector every mode searches full text and says so; with it, chunks carry embeddings', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const seeded = await seedCorpus(tenant.id)
    const available = await vectorSearchAvailable()
    const extension = await db.rawQuery(`SELECT 1 FROM pg_extension WHERE extname = 'vector'`)
    assert.equal(available, extension.rows.length === 1)
    for (const mode of ['hybrid', 'vector'] as const) {
      const result = await searchChunks(tenant.id, 'bicycle chain', { mode })
      assert.equal(result.mode, available ? mode : 'fulltext')
      assert.include(
        result.data.map((hit) => hit.chunk_id),
        seeded.chunkOf.get('c1')!
      )
    }
    if (available) {
      const { rows } = await db.rawQuery(
        `SELECT count(*)::int AS n FROM knowledge_chunks WHERE tenant_id = ? AND embedding IS NULL`,
        [tenant.id]
      )
      assert.equal(rows[0].n, 0)
    } else {
      const { rows } = await db.rawQuery(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'knowledge_chunks' AND column_name = 'embedding'`
      )
      assert.lengthOf(rows, 0)
    }
  })

  test('chunks are written in batches: 501 chunks of one document all arrive in order', async ({
    assert,
  }) => {
    const { tenant } = await WorkspaceFactory.create()
    const written = await withTenant(tenant.id, async (trx) => {
      const [row] = await trx
        .insertQuery()
        .table('knowledge_documents')
        .insert(documentRow(tenant.id, 'Large', 'ready'))
        .returning('id')
      const count = await indexWithSimulator(
        tenant.id,
        row.id,
        Array.from({ length: 501 }, (_, position) => ({
          position,
          text: `Paragraph ${position}: minutes of meeting ${position}\u0000.`,
        })),
        trx
      )
      return { id: row.id as string, count }
    })
    assert.equal(written.count, 501)
    const { rows } = await db.rawQuery(
      `SELECT count(*)::int AS n, max(position) AS last FROM knowledge_chunks WHERE document_id = ?`,
      [written.id]
    )
    assert.deepEqual(rows[0], { n: 501, last: 500 })
    const { data } = await searchChunks(tenant.id, 'meeting 500', { mode: 'fulltext' })
    assert.equal(data[0].text, 'Paragraph 500: minutes of meeting 500.')
  })
})
