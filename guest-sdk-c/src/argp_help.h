/* What argp.c asks of argp_help.c. */
#ifndef __WASM_BPF_ARGP_HELP_H
#define __WASM_BPF_ARGP_HELP_H

#include <argp.h>

/* Prints what `flags` (ARGP_HELP_*) ask for about `argp` to `stream`, as
 * glibc's argp does; `state` (NULL outside argp_parse) gives the parse's
 * flags and input. */
void wbpf_argp_help(const struct argp *argp, const struct argp_state *state, FILE *stream,
		    unsigned flags, const char *name);

#endif
