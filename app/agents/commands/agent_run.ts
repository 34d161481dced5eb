import { args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { OperatorCommand } from '#core'

/** agent:run <tenant-slug> <agent-slug> <input…> → streamed text on stdout; usage and cost on stderr. */
export default class AgentRun extends OperatorCommand {
  static commandName = 'agent:run'
  static description = 'Run an agent and stream its answer'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Tenant slug' })
  declare tenant: string

  @args.string({ description: 'Agent slug or id, or workflow:<slug> to run a workflow' })
  declare agent: string

  @args.spread({ description: 'Input text' })
  declare input: string[]

  @flags.string({ description: 'Runs once per key: a repeated command replays the first result' })
  declare idempotencyKey?: string

  async run() {
    const { Tenant } = await import('#tenants')
    const { formatCredits } = await import('#core')
    const { findAgent, findWorkflow } = await import('#agents/services/lookup')
    const { startRun } = await import('#agents/actions/start_run')
    const { onRunEvent } = await import('#agents/services/run_events')
    const { requestHash } = await import('#platform')

    const tenant = await Tenant.findBy('slug', this.tenant)
    if (!tenant) return this.fail(`no tenant with slug "${this.tenant}"`)
    const workflowSlug = this.agent.startsWith('workflow:') ? this.agent.slice(9) : null
    const workflow = workflowSlug ? await findWorkflow(tenant.id, workflowSlug) : null
    const agent = workflowSlug ? null : await findAgent(tenant.id, this.agent)
    if (workflowSlug && !workflow)
      return this.fail(`no workflow "${workflowSlug}" in ${tenant.slug}`)
    if (!workflowSlug && !agent) return this.fail(`no agent "${this.agent}" in ${tenant.slug}`)
    const text = this.input.join(' ').trim()
    if (!text) return this.fail('the input is empty')
    let started
    try {
      started = await startRun({
        tenantId: tenant.id,
        agent,
        workflow: workflow ?? undefined,
        memberId: null,
        text,
        source: 'cli',
        mode: 'wait',
        idempotency: this.idempotencyKey
          ? {
              route: `cli-runs:${agent?.id ?? workflow!.workflow.id}`,
              key: this.idempotencyKey,
              hash: requestHash({ text }),
              response: (done) => ({
                status: 201,
                body: { id: done.id, status: done.status, output: done.output },
              }),
              refusal: (error) => ({ status: error.status, body: { error: error.message } }),
            }
          : undefined,
      })
    } catch (error: any) {
      return this.fail(error?.message ?? String(error))
    }
    if (started.replayed) {
      const first = started.body as {
        id?: string
        status?: string
        output?: string
        error?: string
      }
      if (first.error) return this.fail(first.error)
      process.stdout.write(`${first.output ?? ''}\n`)
      this.notice(`run ${first.id} ${first.status} (replayed: this idempotency key already ran)`)
      return
    }
    const unsubscribe = onRunEvent(started.run.id, (event) => {
      if (event.event === 'delta') process.stdout.write((event.data as { text: string }).text)
    })
    const run = await started.finished
    unsubscribe()
    process.stdout.write('\n')
    this.notice(
      `run ${run.id} ${run.status} · model ${run.model} · ` +
        `${run.inputTokens} in / ${run.outputTokens} out tokens · ` +
        `${formatCredits(run.costMicros)} credits · ${run.latencyMs} ms`
    )
    if (run.status !== 'succeeded') {
      this.fail(run.error?.detail ?? `run ${run.status}`)
    }
  }
}
