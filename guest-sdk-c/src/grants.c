/* Tells the host of every absolute path wasi-libc found no `run --dir`
 * grant for (wit/grants.wit), so that the user learns which grant a tool
 * lacked: guest.mk links with --wrap=__wasilibc_find_relpath, the lookup
 * behind open(), stat(), access(), opendir() and the rest. */
#include <string.h>
#include <wasi/libc-find-relpath.h>

#include "internal.h"

int __real___wasilibc_find_relpath(const char *path, const char **__restrict__ abs_prefix,
				   char **relative_path, size_t relative_path_len);

int __wrap___wasilibc_find_relpath(const char *path, const char **__restrict__ abs_prefix,
				   char **relative_path, size_t relative_path_len)
{
	int fd = __real___wasilibc_find_relpath(path, abs_prefix, relative_path,
						relative_path_len);
	bpf_app_string_t refused;

	if (fd < 0 && path && path[0] == '/') {
		refused = wbpf_str(path);
		wasm_bpf_bpf_grants_note_refused_path(&refused);
	}
	return fd;
}
