import type { CommandOptions } from '@adonisjs/core/types/ace'
import app from '@adonisjs/core/services/app'
import { migrate, OperatorCommand } from '#core'

/**
 * migrate → one line per migration applied. The deploy step: safe to start from several
 * processes at once (they take turns; each migration is applied once).
 */
export default class Migrate extends OperatorCommand {
  static commandName = 'migrate'
  static description = 'Apply pending migrations (several processes at once take turns)'
  static options: CommandOptions = { startApp: true }

  async run() {
    const applied = Object.keys(await migrate(app))
    for (const name of applied) this.output(name)
    this.notice(`${applied.length} migration(s) applied`)
  }
}
