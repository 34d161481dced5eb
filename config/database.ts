import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig } from '@adonisjs/lucid'
import { moduleNames } from '#config/modules'

const databaseUrl = env.get('DATABASE_URL')

/** True when no DATABASE_URL is set: the embedded PGlite server is started by the core provider. */
export const embedded = !databaseUrl

/**
 * One SQL dialect everywhere: PostgreSQL through `pg`, either a real server or embedded PGlite.
 * The embedded server's port is only known once it has started (see EmbeddedDatabaseProvider).
 */
const dbConfig = defineConfig({
  connection: 'postgres',
  prettyPrintDebugQueries: false,
  connections: {
    postgres: {
      client: 'pg',
      connection: databaseUrl
        ? { connectionString: databaseUrl }
        : { host: '127.0.0.1', port: 0, user: 'postgres', database: 'postgres' },
      // PGlite has ONE backend session shared by all its sockets: concurrent extended-protocol
      // messages from two connections overwrite each other's unnamed statement. One connection.
      pool: embedded ? { min: 0, max: 1 } : { min: 0, max: Number(process.env.DB_POOL_MAX ?? 10) },
      migrations: {
        naturalSort: true,
        // One folder per module, run in dependency order; foreign keys only point "down".
        paths: moduleNames.map((name) => `database/migrations/${name}`),
      },
      seeders: { paths: ['database/seeders'] },
      debug: app.inDev && env.get('LOG_LEVEL') === 'trace',
    },
  },
})

export default dbConfig
