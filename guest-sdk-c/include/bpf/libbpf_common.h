/* What libbpf's headers share: the options-struct macro. */
#ifndef __WASM_BPF_LIBBPF_COMMON_H
#define __WASM_BPF_LIBBPF_COMMON_H

#include <string.h>

/* Options structs, as libbpf declares them: `sz` first, zero for
 * defaults. */
#define LIBBPF_OPTS(TYPE, NAME, ...)                                          \
	struct TYPE NAME = ({                                                 \
		memset(&NAME, 0, sizeof(struct TYPE));                        \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };      \
	})
#define DECLARE_LIBBPF_OPTS LIBBPF_OPTS

#endif
