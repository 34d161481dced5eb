import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/**
 * agent:eval <tenant-slug> <agent-slug> --suite=<id or name> [--version=<n>] [--min-pass=0.9]
 * → `pass_rate=… passed=… failed=…`; exits 1 below --min-pass (for CI pipelines).
 */
export default class AgentEval extends OperatorCommand {
  static commandName = 'agent:eval'
  static description = 'Run an evaluation suite against an agent version; exit 1 below --min-pass'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug' })
  declare tenant: string

  @args.string({ description: 'Agent slug or id' })
  declare agent: string

  @flags.string({ description: 'Suite id or name', required: true })
  declare suite: string

  @flags.number({ description: 'Agent version (default: the current one)' })
  declare version?: number

  @flags.string({ description: 'Lowest pass rate that succeeds, 0 to 1', default: '0' })
  declare minPass: string

  async run() {
    const { Tenant } = await import('#tenants')
    const { findAgent } = await import('#agents/services/lookup')
    const { evaluate, evalResults, findEvalRun, findSuite, startEvaluation } =
      await import('#agents/actions/evaluations')
    const minPass = Number(this.minPass)
    if (!(minPass >= 0 && minPass <= 1)) return this.fail('--min-pass is a number from 0 to 1')
    const tenant = await Tenant.findBy('slug', this.tenant)
    if (!tenant) return this.fail(`no tenant with slug "${this.tenant}"`)
    const agent = await findAgent(tenant.id, this.agent)
    if (!agent) return this.fail(`no agent "${this.agent}" in ${tenant.slug}`)
    const suite = await findSuite(tenant.id, this.suite, agent.id)
    if (!suite || suite.agent_id !== agent.id)
      return this.fail(`no suite "${this.suite}" for agent ${agent.slug}`)
    let started
    try {
      started = await startEvaluation({
        suite,
        version: this.version ?? null,
        actorId: null,
        queue: false,
      })
    } catch (error: any) {
      return this.fail(error?.message ?? String(error))
    }
    await evaluate(tenant.id, started.id)
    const run = (await findEvalRun(tenant.id, started.id))!
    for (const result of await evalResults(run))
      this.notice(
        `case ${result.position + 1}: ${result.passed ? 'passed' : `FAILED — ${result.failures.join(' ')}`}`
      )
    const done = run.passed + run.failed
    const rate = done ? run.passed / done : 0
    this.output(`pass_rate=${Number(rate.toFixed(4))} passed=${run.passed} failed=${run.failed}`)
    if (run.status === 'failed') return this.fail(run.error ?? 'the evaluation failed')
    if (rate < minPass) this.fail(`pass rate ${rate.toFixed(4)} is below --min-pass ${minPass}`)
  }
}
