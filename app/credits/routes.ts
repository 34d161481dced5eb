/*
 * credits routes. Names are prefixed with the module (`credits.<resource>.<action>`).
 */
