import { BaseSchema } from '@adonisjs/lucid/schema'
import { disableTenantRls, enableTenantRls } from '#database/rls'

/**
 * Evaluations: an agent's suites of cases (input + assertions), runs of a suite against one
 * version (each case a real, billed run), and each case's result.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('eval_suites', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table.uuid('agent_id').notNullable().references('id').inTable('agents').onDelete('CASCADE')
      table.string('name', 120).notNullable()
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['agent_id', 'name'])
      table.index(['tenant_id', 'agent_id', 'created_at'])
    })
    this.schema.createTable('eval_cases', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table
        .uuid('suite_id')
        .notNullable()
        .references('id')
        .inTable('eval_suites')
        .onDelete('CASCADE')
      table.integer('position').notNullable()
      table.text('input').notNullable()
      table.jsonb('assertions').notNullable()
      table.unique(['suite_id', 'position'])
      table.index(['tenant_id'])
    })
    this.schema.createTable('eval_runs', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table
        .uuid('suite_id')
        .notNullable()
        .references('id')
        .inTable('eval_suites')
        .onDelete('CASCADE')
      table.uuid('agent_id').notNullable().references('id').inTable('agents').onDelete('CASCADE')
      table.integer('agent_version').notNullable()
      table.string('status', 16).notNullable().defaultTo('queued')
      table.integer('total').notNullable()
      table.integer('passed').notNullable().defaultTo(0)
      table.integer('failed').notNullable().defaultTo(0)
      table.text('error').nullable()
      table.uuid('created_by').nullable()
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('started_at', { useTz: true }).nullable()
      table.timestamp('finished_at', { useTz: true }).nullable()
      /** Moves with every case: recovery ends a run whose process stopped moving it. */
      table.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.index(['tenant_id', 'suite_id', 'created_at'])
    })
    this.schema.raw(`ALTER TABLE eval_runs ADD CONSTRAINT eval_runs_status_check
      CHECK (status IN ('queued', 'running', 'succeeded', 'failed'))`)
    this.schema.createTable('eval_results', (table) => {
      table.uuid('id').primary().defaultTo(this.raw('gen_random_uuid()'))
      table.uuid('tenant_id').notNullable().references('id').inTable('tenants').onDelete('CASCADE')
      table
        .uuid('eval_run_id')
        .notNullable()
        .references('id')
        .inTable('eval_runs')
        .onDelete('CASCADE')
      table.integer('position').notNullable()
      table.text('input').notNullable()
      table.uuid('run_id').nullable().references('id').inTable('runs').onDelete('SET NULL')
      table.boolean('passed').notNullable()
      table.jsonb('failures').notNullable()
      table.text('output').nullable()
      table.integer('latency_ms').nullable()
      table.bigInteger('cost_micros').notNullable().defaultTo(0)
      table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.unique(['eval_run_id', 'position'])
      table.index(['tenant_id'])
    })
    for (const name of ['eval_suites', 'eval_cases', 'eval_runs', 'eval_results'])
      for (const sql of enableTenantRls(name)) this.schema.raw(sql)
  }

  async down() {
    for (const name of ['eval_results', 'eval_runs', 'eval_cases', 'eval_suites'])
      for (const sql of disableTenantRls(name)) this.schema.raw(sql)
    this.schema.dropTable('eval_results')
    this.schema.dropTable('eval_runs')
    this.schema.dropTable('eval_cases')
    this.schema.dropTable('eval_suites')
  }
}
