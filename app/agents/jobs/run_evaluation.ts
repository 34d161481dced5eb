import { Job } from '@adonisjs/queue'

/** Runs every case of one evaluation run (each a billed agent run) and records the results. */
export default class RunEvaluationJob extends Job<{ tenantId: string; evalRunId: string }> {
  static options = { queue: 'runs' }

  async execute() {
    const { evaluateInBackground } = await import('#agents/actions/evaluations')
    evaluateInBackground(this.payload.tenantId, this.payload.evalRunId)
  }
}
