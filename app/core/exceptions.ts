import { Exception } from '@adonisjs/core/exceptions'

/** 404 in every format (problem document, page or htmx alert) through the exception handler. */
export class NotFoundException extends Exception {
  static status = 404
  static code = 'E_NOT_FOUND'
  constructor(message = 'Nothing exists at this address.') {
    super(message, { status: 404, code: 'E_NOT_FOUND' })
  }
}
