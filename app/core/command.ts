import { BaseCommand } from '@adonisjs/core/ace'
import { DomainException } from '#core/exceptions'

/**
 * Base for operator commands (CONTRACT.md): machine-readable output on stdout, notices on stderr,
 * failures as one line on stderr with a non-zero exit code — a domain refusal (DomainException)
 * included, so commands never catch one.
 */
export abstract class OperatorCommand extends BaseCommand {
  /** Ace's hook after run(): a domain refusal becomes the one-line failure (handled). */
  async completed() {
    if (!(this.error instanceof DomainException)) return false
    const { field, message } = this.error
    this.fail(field ? `${field}: ${message}` : message)
    return true
  }

  /** Writes the command's result (ids, tokens, summaries) to stdout. */
  protected output(line: string) {
    process.stdout.write(`${line}\n`)
  }

  /** Progress or notices for a person, on stderr. */
  protected notice(line: string) {
    process.stderr.write(`${line}\n`)
  }

  /** One-line reason on stderr and exit code 1. */
  protected fail(reason: string) {
    process.stderr.write(`error: ${reason}\n`)
    this.exitCode = 1
  }
}
