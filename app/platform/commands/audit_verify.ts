import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** audit:verify → one line per broken link of the audit hash chain; exit 1 if any. */
export default class AuditVerify extends OperatorCommand {
  static commandName = 'audit:verify'
  static description = 'Verify the audit trail hash chain'
  static options: CommandOptions = { startApp: true }

  async run() {
    const { verifyAuditChain } = await import('#platform/services/audit')
    const problems = await verifyAuditChain()
    for (const problem of problems) this.output(problem)
    if (problems.length) {
      this.exitCode = 1
      this.notice(`${problems.length} broken link(s)`)
    } else {
      this.notice('audit chain intact')
    }
  }
}
