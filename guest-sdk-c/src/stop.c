/* The host's request to stop (the first Ctrl-C or SIGTERM, or --timeout),
 * as a C tool expects SIGINT: the handler it installed with signal() runs
 * once, and what SIGINT interrupts natively returns early: a buffer's
 * poll with -EINTR (error.c), sleep() with the seconds left, usleep()
 * with EINTR. wasi-libc itself never runs a handler. */
#include <signal.h>
#include <unistd.h>

#include "internal.h"

void wbpf_deliver_stop(void)
{
	static bool delivered;
	void (*handler)(int);

	if (delivered)
		return;
	delivered = true;
	/* Only a handler the tool installed: SIGINT's default action would
	 * end the guest before it could print anything. */
	handler = signal(SIGINT, SIG_DFL);
	signal(SIGINT, handler);
	if (handler != SIG_DFL && handler != SIG_IGN && handler != SIG_ERR)
		handler(SIGINT);
}

/* Waits `ns` nanoseconds, or less if the host asks the guest to stop; the
 * nanoseconds left then (the stop delivered), else 0. */
static uint64_t wait_or_stop(uint64_t ns)
{
	uint64_t start = wasi_clocks_monotonic_clock_now(), waited;
	wasi_io_poll_own_pollable_t timer = wasi_clocks_monotonic_clock_subscribe_duration(ns);
	wasi_io_poll_own_pollable_t stop = wasm_bpf_bpf_lifecycle_stopping();
	wasi_io_poll_borrow_pollable_t both[2] = {
		wasi_io_poll_borrow_pollable(timer),
		wasi_io_poll_borrow_pollable(stop),
	};
	wasi_io_poll_list_borrow_pollable_t list = { both, 2 };
	bpf_app_list_u32_t ready;

	wasi_io_poll_poll(&list, &ready);
	bpf_app_list_u32_free(&ready);
	wasi_io_poll_pollable_drop_own(timer);
	wasi_io_poll_pollable_drop_own(stop);
	if (!wasm_bpf_bpf_lifecycle_is_stopping())
		return 0;
	wbpf_deliver_stop();
	waited = wasi_clocks_monotonic_clock_now() - start;
	return waited < ns ? ns - waited : 1;
}

unsigned int sleep(unsigned int seconds)
{
	uint64_t left = wait_or_stop((uint64_t)seconds * 1000000000);

	return (unsigned int)((left + 999999999) / 1000000000);
}

int usleep(useconds_t usec)
{
	if (wait_or_stop((uint64_t)usec * 1000)) {
		errno = EINTR;
		return -1;
	}
	return 0;
}

int pause(void)
{
	wasi_io_poll_own_pollable_t stop = wasm_bpf_bpf_lifecycle_stopping();

	wasi_io_poll_method_pollable_block(wasi_io_poll_borrow_pollable(stop));
	wasi_io_poll_pollable_drop_own(stop);
	wbpf_deliver_stop();
	errno = EINTR;
	return -1;
}
