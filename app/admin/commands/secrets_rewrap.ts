import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand, rewrapSecrets } from '#core'

/**
 * secrets:rewrap → one line per store: `<store> resealed=<n> unreadable=<n>`. After an APP_KEY
 * rotation (new key in APP_KEY, old in APP_KEY_PREVIOUS) it re-seals every secret at rest under
 * the new key; exit 1 when some secret no configured key opens.
 */
export default class SecretsRewrap extends OperatorCommand {
  static commandName = 'secrets:rewrap'
  static description = 'Re-seal every secret at rest under the current APP_KEY (after a rotation)'
  static options: CommandOptions = { startApp: true }

  async run() {
    // Every door registers its stores when it loads.
    await import('#agents')
    const results = await rewrapSecrets()
    let unreadable = 0
    for (const [store, result] of Object.entries(results)) {
      this.output(`${store} resealed=${result.resealed} unreadable=${result.unreadable}`)
      unreadable += result.unreadable
    }
    if (unreadable)
      return this.fail(
        `${unreadable} secrets open with no configured key: they must be entered again`
      )
    this.notice('every secret is sealed under the current APP_KEY; APP_KEY_PREVIOUS may go')
  }
}
