/* Data sections whose skeleton structs bpftool lays out in ways a naive
 * generator gets wrong: a .rodata of 10 bytes whose struct is 12 (bools
 * after ints), function-local statics (BTF names `prog.calls`), a static
 * global, and a .bss whose members need padding between them. */
#define SEC(name) __attribute__((section(name), used))

const volatile int min_us = 1;
const volatile int max_us = 2;
const volatile _Bool targ_a = 0;
const volatile _Bool targ_b = 0;

static volatile int hidden_counter;
unsigned int total;
unsigned long long bytes;
unsigned char last;

char LICENSE[] SEC("license") = "GPL";

static __attribute__((always_inline)) int bump(void)
{
	static unsigned long long calls;
	static const int step = 1;

	calls += step;
	return (int)calls;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	hidden_counter++;
	total += bump();
	bytes += min_us + max_us;
	last = targ_a || targ_b;
	return 0;
}
