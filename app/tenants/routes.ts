/*
 * tenants routes. Names are prefixed with the module (`tenants.<resource>.<action>`).
 */
