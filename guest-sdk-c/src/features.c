/* libbpf's feature probes, answered by the host (wit/features.wit). */
#include "internal.h"

static int answer(bool ok, bool supported, wbpf_error_t *e)
{
	return ok ? supported : wbpf_fail(e);
}

int libbpf_probe_bpf_map_type(enum bpf_map_type map_type, const void *opts)
{
	wasm_bpf_bpf_types_map_type_t wit = { .tag = WASM_BPF_BPF_TYPES_MAP_TYPE_OTHER,
					      .val.other = map_type };
	wbpf_error_t e;
	bool supported;

	if (opts)
		return wbpf_err(-EINVAL);
	return answer(wasm_bpf_bpf_features_map_type_supported(&wit, &supported, &e), supported,
		      &e);
}

int libbpf_probe_bpf_prog_type(enum bpf_prog_type prog_type, const void *opts)
{
	wasm_bpf_bpf_types_prog_type_t wit = { .tag = WASM_BPF_BPF_TYPES_PROG_TYPE_OTHER,
					       .val.other = prog_type };
	wbpf_error_t e;
	bool supported;

	if (opts)
		return wbpf_err(-EINVAL);
	return answer(wasm_bpf_bpf_features_prog_type_supported(&wit, &supported, &e), supported,
		      &e);
}

int libbpf_probe_bpf_helper(enum bpf_prog_type prog_type, enum bpf_func_id helper_id,
			    const void *opts)
{
	wasm_bpf_bpf_types_prog_type_t wit = { .tag = WASM_BPF_BPF_TYPES_PROG_TYPE_OTHER,
					       .val.other = prog_type };
	wbpf_error_t e;
	bool supported;

	if (opts)
		return wbpf_err(-EINVAL);
	return answer(wasm_bpf_bpf_features_helper_supported(&wit, helper_id, &supported, &e),
		      supported, &e);
}
