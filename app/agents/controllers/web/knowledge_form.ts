import type { HttpContext } from '@adonisjs/core/http'
import vine, { SimpleMessagesProvider } from '@vinejs/vine'
import { DateTime } from 'luxon'
import { urlFor, type Refusal } from '#core'
import { currentTenant } from '#tenants'
import type KnowledgeDocument from '#agents/models/knowledge_document'
import { MAX_DOCUMENT_BYTES } from '#agents/knowledge/extract'
import type { FieldErrors } from '#agents/controllers/web/agent_form'
import { can } from '#agents/controllers/web/helpers'

/** What the "paste text" form shows again after a refusal (the file input cannot be refilled). */
export type KnowledgeFormState = { values: { name: string; text: string }; errors: FieldErrors }

export const MAX_PASTED_CHARS = 1_000_000

/** A document started from pasted text (the knowledge page's urlencoded form). */
export const pastedDocumentValidator = vine.create({
  name: vine.string().trim().minLength(1).maxLength(255),
  text: vine.string().minLength(1).maxLength(MAX_PASTED_CHARS),
})
const NAME_IT = 'Give the text a name, e.g. "Returns policy".'
const TOO_LONG = `Pasted text is limited to ${MAX_PASTED_CHARS.toLocaleString('en')} characters: upload a file instead.`
pastedDocumentValidator.messagesProvider = new SimpleMessagesProvider({
  'name.required': NAME_IT,
  'name.minLength': NAME_IT,
  'name.maxLength': 'Names are limited to 255 characters.',
  'text.required': 'Paste some text first.',
  'text.minLength': 'Paste some text first.',
  'text.maxLength': TOO_LONG,
})

export function blankKnowledgeForm(): KnowledgeFormState {
  return { values: { name: '', text: '' }, errors: {} }
}

/**
 * A refusal as field errors of the upload forms: a body over the limit (413, refused while it
 * streamed in) is the file's fault; a refusal that names no field becomes the form's `_form`.
 */
export function knowledgeFieldErrors(refusal: Refusal): FieldErrors {
  if (refusal.status === 413)
    return { file: [`The file is larger than the ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB limit.`] }
  if (Object.keys(refusal.fieldErrors).length) return refusal.fieldErrors
  return { _form: [refusal.message] }
}

/** 1234567 → "1.2 MB". */
export function humanSize(bytes: number) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** A document still `processing` with no progress for this long is offered a re-index. */
const STALE_AFTER_MINUTES = 2

/** Props of agents::components/knowledge_document_row for one document. */
export function documentRowProps(ctx: HttpContext, document: KnowledgeDocument) {
  const { tenant } = currentTenant(ctx)
  const params = { tenant: tenant.slug, id: document.id }
  return {
    document: {
      id: document.id,
      name: document.name,
      kind: document.kind,
      status: document.status,
      progress: document.progress,
      chunks: document.chunks,
      error: document.error,
    },
    size: humanSize(document.bytes),
    stale:
      document.status === 'processing' &&
      (document.updatedAt ?? DateTime.now()) <
        DateTime.now().minus({ minutes: STALE_AFTER_MINUTES }),
    canWrite: can(ctx, 'knowledge.write'),
    urls: {
      show: urlFor('agents.web.knowledge_documents.show', params),
      destroy: urlFor('agents.web.knowledge_documents.destroy', params, {
        qs: { _method: 'DELETE' },
      }),
      reindex: urlFor('agents.web.knowledge_reindexings.store', params),
    },
  }
}

/** Props of agents::components/knowledge_upload_form. */
export function uploadFormProps(ctx: HttpContext, state: KnowledgeFormState) {
  const { tenant } = currentTenant(ctx)
  const store = urlFor('agents.web.knowledge_documents.store', { tenant: tenant.slug })
  return {
    // The CSRF middleware reads `_csrf` before a multipart body is parsed: it rides in the query.
    fileAction: urlFor(
      'agents.web.knowledge_documents.store',
      { tenant: tenant.slug },
      { qs: { _csrf: ctx.request.csrfToken } }
    ),
    textAction: store,
    values: state.values,
    errors: state.errors,
    maxMb: MAX_DOCUMENT_BYTES / 1024 / 1024,
    maxChars: MAX_PASTED_CHARS,
  }
}
