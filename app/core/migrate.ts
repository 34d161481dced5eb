import type { ApplicationService } from '@adonisjs/core/types'
import db from '@adonisjs/lucid/services/db'
import { MigrationRunner } from '@adonisjs/lucid/migration'
import pg from 'pg'

/** The advisory lock key every migrating process waits on (any fixed number, ours alone). */
const MIGRATION_LOCK = 7_241_901

/**
 * Runs pending migrations (reference data included) and throws with the first failure. On a
 * PostgreSQL server, processes that migrate at once take turns on a session advisory lock held
 * by one dedicated connection: the first applies the migrations, the others wait, then find
 * nothing pending (Lucid's own lock is taken and released on pooled connections, which may
 * differ, and refuses instead of waiting).
 */
export async function migrate(app: ApplicationService) {
  const url = process.env.DATABASE_URL
  const lock = url ? new pg.Client({ connectionString: url }) : null
  if (lock) {
    // A dropped lock connection fails this run (the query rejects), never the whole process.
    lock.on('error', () => {})
    await lock.connect()
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
  }
  try {
    const runner = new MigrationRunner(db, app, {
      direction: 'up',
      dryRun: false,
      disableLocks: lock !== null,
    })
    await runner.run()
    if (runner.error) throw runner.error
    return runner.migratedFiles
  } finally {
    if (lock) {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {})
      await lock.end().catch(() => {})
    }
  }
}
