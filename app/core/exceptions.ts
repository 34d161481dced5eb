import { Exception } from '@adonisjs/core/exceptions'

/** 404 in every format (problem document, page or htmx alert) through the exception handler. */
export class NotFoundException extends Exception {
  static status = 404
  static code = 'E_NOT_FOUND'
  constructor(message = 'Nothing exists at this address.') {
    super(message, { status: 404, code: 'E_NOT_FOUND' })
  }
}

/**
 * The one shape of a domain refusal: a status, a code and (when one field is to blame) the
 * field. The exception handler renders it once — a problem document (`errors: [{field,
 * message}]`), an OpenAI error (`param`), an htmx alert, or the form again with the field
 * marked (see `onRefusal`) — so no controller catches it.
 */
export class DomainException extends Exception {
  readonly field: string | null
  constructor(
    message: string,
    options: { status?: number; code?: string; field?: string | null; cause?: unknown } = {}
  ) {
    super(message, {
      status: options.status ?? 422,
      code: options.code ?? 'E_DOMAIN_ERROR',
      cause: options.cause,
    })
    this.field = options.field ?? null
  }
}

/**
 * 422 naming one field, shaped like VineJS's E_VALIDATION_ERROR (`messages` as `[{field,
 * message}]`) so every renderer treats it like a validator's refusal.
 */
export class InvalidInputException extends DomainException {
  static status = 422
  static code = 'E_VALIDATION_ERROR'
  constructor(field: string, message: string) {
    super(message, { status: 422, code: 'E_VALIDATION_ERROR', field })
  }
  get messages() {
    return [{ field: this.field as string, message: this.message }]
  }
}
