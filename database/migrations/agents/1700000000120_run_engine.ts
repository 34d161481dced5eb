import { BaseSchema } from '@adonisjs/lucid/schema'

/**
 * The run engine: every run has an owner process (run_owners, one heartbeat row per process), so
 * a run whose owner stopped beating is ended or retried by any other process; `usage_over_hold`
 * flags a provider that reported more than the hold covered; queue_jobs backs @adonisjs/queue's
 * database adapter (async runs) when there is no Redis.
 */
export default class extends BaseSchema {
  async up() {
    this.schema.createTable('run_owners', (table) => {
      table.string('id', 80).primary()
      // web | worker: a web process works the queue itself only while no worker beats.
      table.string('kind', 16).notNullable()
      table.string('host', 255).notNullable()
      table.integer('pid').notNullable()
      table.timestamp('started_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('seen_at', { useTz: true }).notNullable().defaultTo(this.now())
      table.timestamp('stopping_at', { useTz: true }).nullable()
    })
    this.schema.alterTable('runs', (table) => {
      table.string('owner', 80).nullable()
      table.integer('attempts').notNullable().defaultTo(0)
      table.boolean('usage_over_hold').notNullable().defaultTo(false)
    })
    this.schema.raw(
      `CREATE INDEX runs_unfinished ON runs (owner) WHERE status IN ('queued', 'running')`
    )

    // @boringnode/queue's knex adapter schema (QueueSchemaService.createJobsTable), written out
    // so it migrates with everything else.
    this.schema.createTable('queue_jobs', (table) => {
      table.string('id', 255).notNullable()
      table.string('queue', 255).notNullable()
      table.enu('status', ['pending', 'active', 'delayed', 'completed', 'failed']).notNullable()
      table.text('data').notNullable()
      table.bigint('score').unsigned().nullable()
      table.string('worker_id', 255).nullable()
      table.bigint('acquired_at').unsigned().nullable()
      table.bigint('execute_at').unsigned().nullable()
      table.bigint('finished_at').unsigned().nullable()
      table.text('error').nullable()
      table.string('dedup_id', 510).nullable()
      table.bigint('dedup_at').unsigned().nullable()
      table.bigint('dedup_ttl').unsigned().nullable()
      table.primary(['id', 'queue'])
      table.index(['queue', 'status', 'score'])
      table.index(['queue', 'status', 'execute_at'])
      table.index(['queue', 'status', 'finished_at'])
      table.index(['queue', 'dedup_id'])
    })
    this.schema.raw(
      `CREATE UNIQUE INDEX queue_jobs_dedup_active_uidx ON queue_jobs (queue, dedup_id)
       WHERE dedup_id IS NOT NULL AND status IN ('pending', 'delayed')`
    )
    this.schema.createTable('queue_schedules', (table) => {
      table.string('id', 255).primary()
      table.string('status', 50).notNullable().defaultTo('active')
      table.string('name', 255).notNullable()
      table.text('payload').notNullable()
      table.string('cron_expression', 255).nullable()
      table.bigint('every_ms').unsigned().nullable()
      table.string('timezone', 100).notNullable().defaultTo('UTC')
      table.timestamp('from_date').nullable()
      table.timestamp('to_date').nullable()
      table.integer('run_limit').unsigned().nullable()
      table.integer('run_count').unsigned().notNullable().defaultTo(0)
      table.timestamp('next_run_at').nullable()
      table.timestamp('last_run_at').nullable()
      table.timestamp('created_at').notNullable().defaultTo(this.now())
      table.index(['status', 'next_run_at'])
    })
  }

  async down() {
    this.schema.dropTable('queue_schedules')
    this.schema.dropTable('queue_jobs')
    this.schema.raw(`DROP INDEX IF EXISTS runs_unfinished`)
    this.schema.alterTable('runs', (table) => {
      table.dropColumn('owner')
      table.dropColumn('attempts')
      table.dropColumn('usage_over_hold')
    })
    this.schema.dropTable('run_owners')
  }
}
