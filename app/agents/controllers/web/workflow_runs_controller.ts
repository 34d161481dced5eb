import type { HttpContext } from '@adonisjs/core/http'
import { formatCredits, isHtmx, onRefusal, urlFor } from '#core'
import type { InsufficientCreditsException } from '#credits'
import { requestHash } from '#platform'
import { assertWritable, authorize, currentTenant } from '#tenants'
import type Workflow from '#agents/models/workflow'
import { startRun } from '#agents/actions/start_run'
import {
  routeWorkflow,
  RUN_FLASH_KEY,
  runFormProps,
  type RunFormState,
} from '#agents/controllers/web/workflow_form'
import { flashFormState, refusedRun } from '#agents/controllers/web/helpers'

const MAX_INPUT = 200_000

/**
 * POST /t/:tenant/workflows/:slug/runs: a test run from the workflow's page. With htmx the
 * answer is a live bubble that streams the last step's output (see run_stream.ts); without
 * JavaScript the run goes to its end and the browser is sent to the run's page.
 */
export default class WorkflowRunsController {
  async store(ctx: HttpContext) {
    const { tenant, membership } = currentTenant(ctx)
    authorize(ctx, 'agents.read')
    authorize(ctx, 'runs.write')
    assertWritable(ctx)
    const found = await routeWorkflow(ctx)
    const { workflow } = found
    const rawInput = ctx.request.input('input')
    const input = typeof rawInput === 'string' ? rawInput : ''
    const showUrl = urlFor('agents.web.workflows.show', {
      tenant: tenant.slug,
      slug: workflow.slug,
    })

    if (input.trim() === '' || input.length > MAX_INPUT) {
      const message =
        input.trim() === ''
          ? 'Write the input first.'
          : `Inputs are limited to ${MAX_INPUT} characters.`
      return this.#rejected(ctx, workflow, { values: { input }, errors: { input: [message] } })
    }

    const formKey = ctx.request.input('idempotency_key')
    onRefusal(ctx, {
      render: ({ status, code, message, error }) => {
        let text = message
        if (code === 'E_INSUFFICIENT_CREDITS') {
          const { needed, available } = error as InsufficientCreditsException
          text =
            `Not enough credits to run ${workflow.name}: its first step may cost up to ` +
            `${formatCredits(needed)} credits and the workspace has ` +
            `${formatCredits(available < 0n ? 0n : available)} available.`
        } else if (code === 'E_VALIDATION_ERROR') {
          text = `This workflow cannot run: ${message} Edit its steps to fix it.`
        } else if (code === 'E_IDEMPOTENCY_CONFLICT') {
          text = 'This test run is already going.'
        }
        return this.#alert(ctx, status, text, input, showUrl)
      },
    })
    const started = await startRun({
      tenantId: tenant.id,
      agent: null,
      workflow: found,
      memberId: membership.userId,
      text: input,
      source: 'web',
      mode: isHtmx(ctx) ? 'stream' : 'wait',
      idempotency:
        typeof formKey === 'string' && /^[\w-]{8,64}$/.test(formKey)
          ? {
              route: `web-workflow-runs:${workflow.id}:${membership.userId}`,
              key: formKey,
              hash: requestHash({ input }),
              response: (run) => ({ status: 200, body: { run_id: run.id } }),
              refusal: (refused) => ({
                status: refused.status,
                body: { message: refused.message },
              }),
            }
          : undefined,
    })
    if (started.replayed) {
      // The same form sent twice: show the run the first submit started.
      const first = started.body as { run_id?: string; message?: string }
      if (started.status >= 400 || !first.run_id)
        return this.#alert(
          ctx,
          started.status,
          first.message ?? 'This test run was refused.',
          input,
          showUrl
        )
      const runUrl = urlFor('agents.web.runs.show', { tenant: tenant.slug, id: first.run_id })
      return isHtmx(ctx)
        ? ctx.response.header('HX-Redirect', runUrl).status(204)
        : ctx.response.redirect(runUrl)
    }

    if (!isHtmx(ctx)) {
      // Without JavaScript there is nothing to stream into: run to the end, then show the run.
      await started.finished
      return ctx.response.redirect(
        urlFor('agents.web.runs.show', { tenant: tenant.slug, id: started.run.id })
      )
    }
    return ctx.view.render('agents::components/workflow_run_reply', {
      run: started.run,
      form: runFormProps(ctx, workflow, { values: { input }, errors: null }),
    })
  }

  /** A refused run: the message in the page's alert region (htmx), or back to the page with it. */
  #alert(ctx: HttpContext, status: number, message: string, input: string, url: string) {
    return refusedRun(ctx, { status, message, url, flashKey: RUN_FLASH_KEY, input })
  }

  /** An invalid input: the test-run form again with the error (htmx swaps it in place). */
  async #rejected(ctx: HttpContext, workflow: Workflow, state: RunFormState) {
    if (isHtmx(ctx)) {
      ctx.response.header('HX-Retarget', '#workflow-run-form').header('HX-Reswap', 'outerHTML')
      return ctx.response
        .status(422)
        .send(
          await ctx.view.render(
            'agents::components/workflow_run_form',
            runFormProps(ctx, workflow, state)
          )
        )
    }
    flashFormState(ctx, RUN_FLASH_KEY, {
      values: { input: state.values.input.slice(0, 500) },
      errors: state.errors,
    })
    return ctx.response.redirect(
      urlFor('agents.web.workflows.show', {
        tenant: currentTenant(ctx).tenant.slug,
        slug: workflow.slug,
      })
    )
  }
}
