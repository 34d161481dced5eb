import { BaseCommand } from '@adonisjs/core/ace'
import { errors as vineErrors } from '@vinejs/vine'
import { DomainException } from '#core/exceptions'

/**
 * Base for operator commands (CONTRACT.md): machine-readable output on stdout, notices on stderr,
 * failures as one line on stderr with a non-zero exit code — a refusal (DomainException, or a
 * validator's: the first field) included, so commands never catch one.
 */
export abstract class OperatorCommand extends BaseCommand {
  /** Ace's hook after run(): a refusal becomes the one-line failure (handled). */
  async completed() {
    const refusal =
      this.error instanceof DomainException
        ? { field: this.error.field, message: this.error.message }
        : this.error instanceof vineErrors.E_VALIDATION_ERROR
          ? (this.error.messages as { field: string; message: string }[])[0]
          : null
    if (!refusal) return false
    this.fail(refusal.field ? `${refusal.field}: ${refusal.message}` : refusal.message)
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
