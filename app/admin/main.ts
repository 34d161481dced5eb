/**
 * admin — platform admin pages; uses the other modules' public doors only.
 * This file is the module's ONE public door: other modules import `#admin`, never `#admin/...`.
 */
export const moduleName = 'admin'
