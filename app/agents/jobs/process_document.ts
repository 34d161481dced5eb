import { Job } from '@adonisjs/queue'

/** Extracts, chunks and indexes one uploaded knowledge document. */
export default class ProcessDocumentJob extends Job<{ tenantId: string; documentId: string }> {
  static options = { queue: 'runs' }

  async execute() {
    const { processDocumentInBackground } = await import('#agents/actions/manage_documents')
    processDocumentInBackground(this.payload.tenantId, this.payload.documentId)
  }
}
