/*
 * platform routes. Names are prefixed with the module (`platform.<resource>.<action>`).
 */
