/* wasi-libc's <time.h>, with localtime() in local time: WASI has no time
 * zones, so wasi-libc's localtime() is UTC. Here it follows the guest's
 * TZ (`wasm-bpf run --env TZ=Europe/Paris`; glibc's syntax: an IANA name
 * or a POSIX rule, empty for UTC) or, without one, the host's own zone,
 * as the native tool on the same machine does (src/time.c asks the host,
 * wit/time.wit). strftime()'s %Z and %z follow; mktime() stays UTC. */
#include_next <time.h>

#ifndef __WASM_BPF_TIME_H
#define __WASM_BPF_TIME_H

#ifdef __cplusplus
extern "C" {
#endif

struct tm *localtime(const time_t *t) __asm__("__wbpf_localtime");
struct tm *localtime_r(const time_t *__restrict t, struct tm *__restrict tm)
	__asm__("__wbpf_localtime_r");
/* Nothing to do: TZ is read at every call. */
void tzset(void) __asm__("__wbpf_tzset");

#ifdef __cplusplus
}
#endif

#endif
