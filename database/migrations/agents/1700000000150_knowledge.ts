import { BaseSchema } from '@adonisjs/lucid/schema'
import { disableTenantRls, enableTenantRls } from '#database/rls'

/**
 * Knowledge: a workspace's documents (the upload itself in `content`, so every process can read
 * it) and their chunks, searched by full text (`tsv`) and, where pgvector exists, by embedding.
 * pgvector is optional: without the extension (PostgreSQL 15 on Debian has no package) the
 * `embedding` column is simply absent and code checks for it at runtime.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('knowledge_documents', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.string('name', 255).notNullable()
      table.string('media_type', 100).notNullable()
      table.string('kind', 16).notNullable()
      table.integer('bytes').notNullable()
      table.binary('content').notNullable()
      table.string('status', 16).notNullable().defaultTo('processing')
      table.text('error').nullable()
      table.integer('chunks').notNullable().defaultTo(0)
      table.integer('progress').notNullable().defaultTo(0)
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.index(['tenant_id', 'created_at'])
    })
    this.schema.raw(`ALTER TABLE knowledge_documents
      ADD CONSTRAINT knowledge_documents_kind_check CHECK (kind IN ('text', 'markdown', 'csv', 'pdf')),
      ADD CONSTRAINT knowledge_documents_status_check CHECK (status IN ('processing', 'ready', 'failed')),
      ADD CONSTRAINT knowledge_documents_progress_check CHECK (progress BETWEEN 0 AND 100)`)

    this.schema.createTable('knowledge_chunks', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table
        .uuid('document_id')
        .notNullable()
        .references('id')
        .inTable('knowledge_documents')
        .onDelete('CASCADE')
      table.integer('position').notNullable()
      table.text('text').notNullable()
      table.specificType(
        'tsv',
        `tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED`
      )
      table.unique(['document_id', 'position'])
      table.index(['tenant_id', 'document_id', 'position'])
    })
    this.schema.raw(`CREATE INDEX knowledge_chunks_tsv ON knowledge_chunks USING gin (tsv)`)

    // The exception block is a savepoint: a server without the extension (or without the right
    // to create it) keeps migrating, with full-text search only.
    this.schema.raw(`DO $$ BEGIN
      CREATE EXTENSION IF NOT EXISTS vector;
    EXCEPTION WHEN feature_not_supported OR undefined_file OR insufficient_privilege THEN
      RAISE NOTICE 'pgvector is not available (%): knowledge search uses full text only', SQLERRM;
    END $$`)
    this.schema.raw(`DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        ALTER TABLE knowledge_chunks ADD COLUMN embedding vector(256);
        CREATE INDEX knowledge_chunks_embedding ON knowledge_chunks
          USING hnsw (embedding vector_cosine_ops);
      END IF;
    END $$`)

    for (const name of ['knowledge_documents', 'knowledge_chunks'])
      for (const sql of enableTenantRls(name)) this.schema.raw(sql)
  }

  async down() {
    for (const name of ['knowledge_chunks', 'knowledge_documents'])
      for (const sql of disableTenantRls(name)) this.schema.raw(sql)
    this.schema.dropTable('knowledge_chunks')
    this.schema.dropTable('knowledge_documents')
  }
}
