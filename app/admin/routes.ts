/*
 * admin routes. Names are prefixed with the module (`admin.<resource>.<action>`).
 */
