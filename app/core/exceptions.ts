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
 * 422 naming one field, shaped like VineJS's E_VALIDATION_ERROR (`messages` as `[{field,
 * message}]`), so the exception handler renders it as a problem document's `errors`, an OpenAI
 * error, or a form sent back with the field marked.
 */
export class InvalidInputException extends Exception {
  static status = 422
  static code = 'E_VALIDATION_ERROR'
  constructor(
    public field: string,
    message: string
  ) {
    super(message, { status: 422, code: 'E_VALIDATION_ERROR' })
  }
  get messages() {
    return [{ field: this.field, message: this.message }]
  }
}
