import { BaseSchema } from '@adonisjs/lucid/schema'
import { disableTenantRls, enableTenantRls } from '#database/rls'

/**
 * Tools, handoffs and workflows. A run's steps become a tree: every model call, tool call,
 * handoff and workflow step is a row with its name, input, output and duration; `parent` is the
 * position of the workflow step (or handoff) it belongs to. Workflows are versioned like agents;
 * a workflow run records which version it ran. `tool_settings` holds a workspace's
 * http_request allow-list.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.alterTable('run_steps', (table) => {
      table.string('name', 200).nullable()
      table.text('input').nullable()
      table.text('output').nullable()
      table.integer('duration_ms').nullable()
      table.integer('parent').nullable()
    })
    this.schema.alterTable('agent_versions', (table) => {
      table.integer('max_steps').notNullable().defaultTo(10)
    })

    this.schema.createTable('workflows', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.string('slug', 40).notNullable()
      table.string('name', 120).notNullable()
      table.text('description').nullable()
      table.integer('current_version').notNullable().defaultTo(1)
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('deleted_at', { useTz: true }).nullable()
      table.index(['tenant_id', 'created_at'])
    })
    this.schema.raw(
      `CREATE UNIQUE INDEX workflows_tenant_slug_unique ON workflows (tenant_id, slug) WHERE deleted_at IS NULL`
    )
    this.schema.createTable('workflow_versions', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table
        .uuid('workflow_id')
        .notNullable()
        .references('id')
        .inTable('workflows')
        .onDelete('CASCADE')
      table.integer('version').notNullable()
      table.jsonb('steps').notNullable()
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['workflow_id', 'version'])
      table.index(['tenant_id'])
    })
    this.schema.alterTable('runs', (table) => {
      table
        .uuid('workflow_id')
        .nullable()
        .references('id')
        .inTable('workflows')
        .onDelete('SET NULL')
      table.uuid('workflow_version_id').nullable()
      table.integer('workflow_version').nullable()
    })
    this.schema.raw(
      `CREATE INDEX runs_tenant_workflow ON runs (tenant_id, workflow_id, created_at) WHERE workflow_id IS NOT NULL`
    )

    this.schema.createTable('tool_settings', (table) => {
      table.uuid('tenant_id').primary().references('id').inTable('tenants').onDelete('CASCADE')
      table.jsonb('http_allowed_hosts').notNullable().defaultTo('[]')
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
    })

    for (const name of ['workflows', 'workflow_versions', 'tool_settings'])
      for (const sql of enableTenantRls(name)) this.schema.raw(sql)
  }

  async down() {
    for (const name of ['workflows', 'workflow_versions', 'tool_settings'])
      for (const sql of disableTenantRls(name)) this.schema.raw(sql)
    this.schema.dropTable('tool_settings')
    this.schema.raw(`DROP INDEX IF EXISTS runs_tenant_workflow`)
    this.schema.alterTable('runs', (table) => {
      table.dropColumns('workflow_id', 'workflow_version_id', 'workflow_version')
    })
    this.schema.dropTable('workflow_versions')
    this.schema.dropTable('workflows')
    this.schema.alterTable('agent_versions', (table) => table.dropColumn('max_steps'))
    this.schema.alterTable('run_steps', (table) => {
      table.dropColumns('name', 'input', 'output', 'duration_ms', 'parent')
    })
  }
}
