import type { ApplicationService } from '@adonisjs/core/types'
import { embedded } from '#config/database'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '#core/embedded_database'

/**
 * Starts (or joins) the embedded PGlite server when no DATABASE_URL is set, before Lucid opens
 * a connection, and migrates it so a fresh checkout serves pages with no set-up. Listed before
 * Lucid's provider so it boots first and shuts down last.
 */
export default class EmbeddedDatabaseProvider {
  #server: EmbeddedDatabase | null = null

  constructor(protected app: ApplicationService) {}

  async boot() {
    if (!embedded) return
    const inMemory = this.app.inTest
    this.#server = await startEmbeddedDatabase({
      dataDir: inMemory ? null : this.app.tmpPath('db'),
      lockPath: inMemory ? null : this.app.tmpPath('pglite.json'),
    })
    const connection = this.app.config.get<Record<string, any>>(
      'database.connections.postgres.connection'
    )
    connection.host = this.#server.host
    connection.port = this.#server.port
  }

  /** Migrate before serving: always for the embedded database, and in development. */
  async start() {
    const isWeb = this.app.getEnvironment() === 'web'
    if (!isWeb || !(embedded || this.app.inDev)) return
    const { migrate } = await import('#core/migrate')
    await migrate(this.app)
  }

  async shutdown() {
    await this.#server?.stop()
  }
}
