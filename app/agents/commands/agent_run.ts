import { args } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** agent:run <tenant-slug> <agent-slug> <input…> → streamed text on stdout; usage and cost on stderr. */
export default class AgentRun extends OperatorCommand {
  static commandName = 'agent:run'
  static description = 'Run an agent and stream its answer'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug' })
  declare tenant: string

  @args.string({ description: 'Agent slug or id' })
  declare agent: string

  @args.spread({ description: 'Input text' })
  declare input: string[]

  async run() {
    const { Tenant } = await import('#tenants')
    const { formatCredits } = await import('#core')
    const { findAgent } = await import('#agents/services/lookup')
    const { prepareRun } = await import('#agents/actions/start_run')
    const { executeRun } = await import('#agents/services/run_executor')
    const { onRunEvent } = await import('#agents/services/run_events')

    const tenant = await Tenant.findBy('slug', this.tenant)
    if (!tenant) return this.fail(`no tenant with slug "${this.tenant}"`)
    const agent = await findAgent(tenant.id, this.agent)
    if (!agent) return this.fail(`no agent "${this.agent}" in ${tenant.slug}`)
    const text = this.input.join(' ').trim()
    if (!text) return this.fail('the input is empty')
    let plan
    try {
      plan = await prepareRun({ tenantId: tenant.id, agent, memberId: null, text, source: 'cli' })
    } catch (error: any) {
      return this.fail(error?.message ?? String(error))
    }
    const unsubscribe = onRunEvent(plan.run.id, (event) => {
      if (event.event === 'delta') process.stdout.write((event.data as { text: string }).text)
    })
    const run = await executeRun(plan)
    unsubscribe()
    process.stdout.write('\n')
    this.notice(`run ${run.id} ${run.status} · model ${run.model} · ${run.inputTokens} in / ${run.outputTokens} out tokens · ${formatCredits(run.costMicros)} credits · ${run.latencyMs} ms`)
    if (run.status !== 'succeeded') {
      this.fail(run.error?.detail ?? `run ${run.status}`)
    }
  }
}
