import { BaseSchema } from '@adonisjs/lucid/schema'
import { enableTenantRls } from '#database/rls'

/**
 * Agents with immutable versions, threads and messages, runs with their steps and their event
 * log (what SSE clients replay with Last-Event-ID). Every table is tenant-owned.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('agents', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.string('slug', 40).notNullable()
      table.string('name', 120).notNullable()
      table.text('description').nullable()
      table.string('visibility', 16).notNullable().defaultTo('private')
      table.integer('current_version').notNullable().defaultTo(1)
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('deleted_at', { useTz: true }).nullable()
      table.index(['tenant_id', 'created_at'])
    })
    this.schema.raw(
      `CREATE UNIQUE INDEX agents_tenant_slug_unique ON agents (tenant_id, slug) WHERE deleted_at IS NULL`
    )
    this.schema.raw(
      `ALTER TABLE agents ADD CONSTRAINT agents_visibility_known CHECK (visibility IN ('private', 'public'))`
    )

    this.schema.createTable('agent_versions', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.uuid('agent_id').notNullable().references('id').inTable('agents').onDelete('CASCADE')
      table.integer('version').notNullable()
      table.text('instructions').notNullable()
      table.string('model', 200).notNullable()
      table.jsonb('fallback_models').notNullable().defaultTo('[]')
      table.decimal('temperature', 3, 2).nullable()
      table.integer('max_tokens').notNullable().defaultTo(1024)
      table.jsonb('tools').notNullable().defaultTo('[]')
      table.jsonb('metadata').notNullable().defaultTo('{}')
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['agent_id', 'version'])
      table.index(['tenant_id', 'agent_id'])
    })

    this.schema.createTable('threads', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.uuid('agent_id').nullable().references('id').inTable('agents').onDelete('SET NULL')
      table.string('title', 200).nullable()
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.index(['tenant_id', 'updated_at'])
    })

    this.schema.createTable('runs', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      // Null for direct catalog-model calls through the OpenAI-compatible endpoint.
      table.uuid('agent_id').nullable().references('id').inTable('agents').onDelete('CASCADE')
      table
        .uuid('agent_version_id')
        .nullable()
        .references('id')
        .inTable('agent_versions')
        .onDelete('CASCADE')
      table.integer('version').nullable()
      table.uuid('thread_id').nullable().references('id').inTable('threads').onDelete('SET NULL')
      table.uuid('member_id').nullable()
      table.string('status', 16).notNullable()
      table.text('input').notNullable()
      table.text('output').notNullable().defaultTo('')
      table.integer('input_tokens').notNullable().defaultTo(0)
      table.integer('output_tokens').notNullable().defaultTo(0)
      table.bigInteger('cost_micros').notNullable().defaultTo(0)
      table.bigInteger('hold_micros').notNullable().defaultTo(0)
      table.uuid('hold_id').nullable()
      table.string('model', 200).nullable()
      table.jsonb('error').nullable()
      table.integer('latency_ms').nullable()
      table.integer('ttft_ms').nullable()
      table.jsonb('metadata').notNullable().defaultTo('{}')
      table.string('source', 16).notNullable().defaultTo('api')
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('started_at', { useTz: true }).nullable()
      table.timestamp('finished_at', { useTz: true }).nullable()
      table.timestamp('cancel_requested_at', { useTz: true }).nullable()
      table.index(['tenant_id', 'created_at'])
      table.index(['tenant_id', 'agent_id', 'created_at'])
      table.index(['status', 'started_at'])
    })
    this.schema.raw(
      `ALTER TABLE runs ADD CONSTRAINT runs_status_known
       CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'))`
    )

    this.schema.createTable('messages', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.uuid('thread_id').notNullable().references('id').inTable('threads').onDelete('CASCADE')
      table.uuid('run_id').nullable().references('id').inTable('runs').onDelete('SET NULL')
      table.string('role', 16).notNullable()
      table.text('content').notNullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.index(['tenant_id', 'thread_id', 'created_at'])
    })

    this.schema.createTable('run_steps', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.uuid('run_id').notNullable().references('id').inTable('runs').onDelete('CASCADE')
      table.integer('position').notNullable()
      table.string('kind', 24).notNullable()
      table.string('model', 200).nullable()
      table.string('status', 16).notNullable()
      table.integer('input_tokens').notNullable().defaultTo(0)
      table.integer('output_tokens').notNullable().defaultTo(0)
      table.bigInteger('cost_micros').notNullable().defaultTo(0)
      table.jsonb('error').nullable()
      table.timestamp('started_at', { useTz: true }).notNullable()
      table.timestamp('finished_at', { useTz: true }).nullable()
      table.unique(['run_id', 'position'])
      table.index(['tenant_id', 'run_id'])
    })

    this.schema.createTable('run_events', (table) => {
      table.bigIncrements('id')
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.uuid('run_id').notNullable().references('id').inTable('runs').onDelete('CASCADE')
      table.integer('seq').notNullable()
      table.string('event', 16).notNullable()
      table.jsonb('data').notNullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['run_id', 'seq'])
    })

    for (const name of [
      'agents',
      'agent_versions',
      'threads',
      'runs',
      'messages',
      'run_steps',
      'run_events',
    ]) {
      for (const sql of enableTenantRls(name)) this.schema.raw(sql)
    }
    this.schema.raw(`GRANT SELECT ON providers, models TO agora_app`)
    this.schema.raw(`GRANT USAGE ON SEQUENCE run_events_id_seq TO agora_app`)
  }

  async down() {
    this.schema.raw(`REVOKE ALL ON providers, models FROM agora_app`)
    for (const name of [
      'run_events',
      'run_steps',
      'messages',
      'runs',
      'threads',
      'agent_versions',
      'agents',
    ]) {
      this.schema.dropTable(name)
    }
  }
}
