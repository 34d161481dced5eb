import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** credits:sweep → expires holds past their expiry (crashed runs); prints `expired=<n>`. */
export default class CreditsSweep extends OperatorCommand {
  static commandName = 'credits:sweep'
  static description = 'Expire stale credit holds now (web processes also do it every 10 s)'
  static options: CommandOptions = { startApp: true }

  async run() {
    const { expireStaleHolds } = await import('#credits')
    this.output(`expired=${await expireStaleHolds()}`)
  }
}
