/*
 * analytics routes. Names are prefixed with the module (`analytics.<resource>.<action>`).
 */
