/*
 * agents routes. Names are prefixed with the module (`agents.<resource>.<action>`).
 */
