import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** user:create <email> --password= [--name=] [--admin] → prints the user id. */
export default class UserCreate extends OperatorCommand {
  static commandName = 'user:create'
  static description = 'Create a user (prints the user id)'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Email address' })
  declare email: string

  @flags.string({ description: 'Password (8–128 characters, not a common one)', required: true })
  declare password: string

  @flags.string({ description: 'Display name (defaults to the part before @)' })
  declare name?: string

  @flags.boolean({ description: 'Make the user a platform admin' })
  declare admin?: boolean

  async run() {
    const vine = (await import('@vinejs/vine')).default
    const { passwordProblem } = await import('#auth/services/password_policy')
    const { default: User } = await import('#auth/models/user')
    const { recordAudit } = await import('#platform')
    const email = this.email.trim()
    if (
      !(await vine.tryValidate({ schema: vine.string().email().maxLength(254), data: email }))[1]
    ) {
      return this.fail(`"${email}" is not a valid email address`)
    }
    const problem = passwordProblem(this.password ?? '', { email })
    if (problem) return this.fail(`password refused: ${problem}`)
    const existing = await User.query().whereRaw('lower(email) = lower(?)', [email]).first()
    if (existing) return this.fail(`a user with email ${email} already exists (${existing.id})`)
    const user = await User.create({
      email,
      name: (this.name ?? email.split('@')[0]).slice(0, 120),
      password: this.password,
      timeZone: 'UTC',
      platformAdmin: Boolean(this.admin),
    })
    await recordAudit({
      action: 'auth.user.created',
      actorLabel: 'cli',
      subjectType: 'user',
      subjectId: user.id,
      changes: { platform_admin: user.platformAdmin },
    })
    this.notice(`created ${user.platformAdmin ? 'platform admin' : 'user'} ${email}`)
    this.output(user.id)
  }
}
