/* bpf_program and bpf_link: autoload, attaching, detaching. */
#include <stdlib.h>

#include "internal.h"

/* The program's host resource, found on first use. */
static int program_handle(const struct bpf_program *prog,
			  wasm_bpf_bpf_program_borrow_program_t *out)
{
	struct bpf_program *p = (struct bpf_program *)prog;
	bpf_app_string_t name;
	wbpf_error_t e;

	if (!prog)
		return wbpf_err(-EINVAL);
	if (!p->handle.__handle) {
		name = wbpf_str(p->name);
		if (!wasm_bpf_bpf_object_method_bpf_object_find_program(
			    wasm_bpf_bpf_object_borrow_bpf_object(p->obj->handle), &name,
			    &p->handle, &e))
			return wbpf_fail(&e);
	}
	*out = wasm_bpf_bpf_program_borrow_program(p->handle);
	return 0;
}

struct bpf_link *wbpf_link_new(wasm_bpf_bpf_program_own_link_t handle)
{
	struct bpf_link *link = calloc(1, sizeof(*link));

	if (!link) {
		wasm_bpf_bpf_link_link_drop_own(handle);
		return wbpf_err_ptr(-ENOMEM);
	}
	link->handle = handle;
	link->attached = true;
	return link;
}

const char *bpf_program__name(const struct bpf_program *prog)
{
	return prog ? prog->name : NULL;
}

const char *bpf_program__section_name(const struct bpf_program *prog)
{
	return prog ? prog->section : NULL;
}

bool bpf_program__autoload(const struct bpf_program *prog)
{
	return prog && prog->autoload;
}

int bpf_program__set_autoload(struct bpf_program *prog, bool autoload)
{
	wasm_bpf_bpf_program_borrow_program_t handle;
	wbpf_error_t e;
	int err = program_handle(prog, &handle);

	if (err)
		return err;
	if (!wasm_bpf_bpf_program_method_program_set_autoload(handle, autoload, &e))
		return wbpf_fail(&e);
	prog->autoload = autoload;
	return 0;
}

/* A setter of one number, such as the WIT's `set-flags`. */
typedef bool (*program_setter_t)(wasm_bpf_bpf_program_borrow_program_t prog, uint32_t value,
				 wasm_bpf_bpf_program_error_t *err);

static int program_set(struct bpf_program *prog, program_setter_t set, uint32_t value)
{
	wasm_bpf_bpf_program_borrow_program_t handle;
	wbpf_error_t e;
	int err = program_handle(prog, &handle);

	if (err)
		return err;
	if (!set(handle, value, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_program__set_attach_target(struct bpf_program *prog, int attach_prog_fd,
				   const char *attach_func_name)
{
	/* The SDK has no program fds: wasm_bpf_program__set_attach_target
	 * names another program as the target. */
	if (attach_prog_fd)
		return wbpf_err(-EOPNOTSUPP);
	return wasm_bpf_program__set_attach_target(prog, NULL, attach_func_name);
}

int wasm_bpf_program__set_attach_target(struct bpf_program *prog,
					const struct bpf_program *target,
					const char *attach_func_name)
{
	wasm_bpf_bpf_program_borrow_program_t handle, target_handle;
	bpf_app_string_t name;
	wbpf_error_t e;
	int err = program_handle(prog, &handle);

	if (err)
		return err;
	if (target && (err = program_handle(target, &target_handle)))
		return err;
	if (attach_func_name)
		name = wbpf_str(attach_func_name);
	if (!wasm_bpf_bpf_program_method_program_set_attach_target(
		    handle, attach_func_name ? &name : NULL, target ? &target_handle : NULL, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_program__set_type(struct bpf_program *prog, __u32 type)
{
	/* The host takes any kernel number as `other`. */
	wasm_bpf_bpf_program_prog_type_t wit = { .tag = WASM_BPF_BPF_TYPES_PROG_TYPE_OTHER,
						  .val.other = type };
	wasm_bpf_bpf_program_borrow_program_t handle;
	wbpf_error_t e;
	int err = program_handle(prog, &handle);

	if (err)
		return err;
	if (!wasm_bpf_bpf_program_method_program_set_prog_type(handle, &wit, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_program__set_expected_attach_type(struct bpf_program *prog, __u32 type)
{
	wasm_bpf_bpf_program_attach_type_t wit = {
		.tag = WASM_BPF_BPF_TYPES_ATTACH_TYPE_OTHER,
		.val.other = type,
	};
	wasm_bpf_bpf_program_borrow_program_t handle;
	wbpf_error_t e;
	int err = program_handle(prog, &handle);

	if (err)
		return err;
	if (!wasm_bpf_bpf_program_method_program_set_expected_attach_type(handle, &wit, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_program__set_flags(struct bpf_program *prog, __u32 flags)
{
	return program_set(prog, wasm_bpf_bpf_program_method_program_set_flags, flags);
}

__u32 bpf_program__flags(const struct bpf_program *prog)
{
	wasm_bpf_bpf_program_borrow_program_t handle;

	if (program_handle(prog, &handle))
		return 0;
	return wasm_bpf_bpf_program_method_program_flags(handle);
}

int bpf_program__set_log_level(struct bpf_program *prog, __u32 log_level)
{
	int err = program_set(prog, wasm_bpf_bpf_program_method_program_set_log_level, log_level);

	if (!err)
		prog->log_level = log_level;
	return err;
}

__u32 bpf_program__log_level(const struct bpf_program *prog)
{
	return prog ? prog->log_level : 0;
}

int bpf_program__set_log_buf(struct bpf_program *prog, char *log_buf, size_t log_size)
{
	if (!prog || (log_size && !log_buf) || (!log_size && log_buf))
		return wbpf_err(-EINVAL);
	prog->log_buf = log_buf;
	prog->log_size = log_size;
	return 0;
}

const char *bpf_program__log_buf(const struct bpf_program *prog, size_t *log_size)
{
	if (log_size)
		*log_size = prog ? prog->log_size : 0;
	return prog ? prog->log_buf : NULL;
}

void wbpf_program_fill_log(struct bpf_program *prog)
{
	wasm_bpf_bpf_program_borrow_program_t handle;
	bpf_app_string_t log;
	size_t len;

	if (!prog->log_buf || !prog->log_level || program_handle(prog, &handle))
		return;
	if (!wasm_bpf_bpf_program_method_program_verifier_log(handle, &log))
		return;
	/* Cut to the buffer, NUL-terminated, as the kernel fills it. */
	len = log.len < prog->log_size - 1 ? log.len : prog->log_size - 1;
	memcpy(prog->log_buf, log.ptr, len);
	prog->log_buf[len] = '\0';
	bpf_app_string_free(&log);
}

int bpf_program__fd(const struct bpf_program *prog)
{
	(void)prog;
	return wbpf_err(-EOPNOTSUPP);
}

struct bpf_link *bpf_program__attach(const struct bpf_program *prog)
{
	wasm_bpf_bpf_program_borrow_program_t handle;
	wasm_bpf_bpf_program_own_link_t link;
	wbpf_error_t e;
	int err = program_handle(prog, &handle);

	if (err)
		return NULL;
	if (!wasm_bpf_bpf_program_method_program_attach(handle, &link, &e))
		return wbpf_err_ptr(wbpf_fail(&e));
	wbpf_log_deliver();
	return wbpf_link_new(link);
}

static struct bpf_link *attach_to(const struct bpf_program *prog,
				  wasm_bpf_bpf_program_attach_target_t *target)
{
	wasm_bpf_bpf_program_borrow_program_t handle;
	wasm_bpf_bpf_program_own_link_t link;
	wbpf_error_t e;
	int err = program_handle(prog, &handle);

	if (err)
		return NULL;
	if (!wasm_bpf_bpf_program_method_program_attach_to(handle, target, &link, &e))
		return wbpf_err_ptr(wbpf_fail(&e));
	wbpf_log_deliver();
	return wbpf_link_new(link);
}

struct bpf_link *bpf_program__attach_tracepoint(const struct bpf_program *prog,
						const char *tp_category, const char *tp_name)
{
	wasm_bpf_bpf_program_attach_target_t target = {
		.tag = WASM_BPF_BPF_PROGRAM_ATTACH_TARGET_TRACEPOINT,
		.val.tracepoint = { .category = wbpf_str(tp_category), .name = wbpf_str(tp_name) },
	};

	if (!tp_category || !tp_name)
		return wbpf_err_ptr(-EINVAL);
	return attach_to(prog, &target);
}

struct bpf_link *bpf_program__attach_raw_tracepoint(const struct bpf_program *prog,
						    const char *tp_name)
{
	wasm_bpf_bpf_program_attach_target_t target = {
		.tag = WASM_BPF_BPF_PROGRAM_ATTACH_TARGET_RAW_TRACEPOINT,
		.val.raw_tracepoint = wbpf_str(tp_name),
	};

	if (!tp_name)
		return wbpf_err_ptr(-EINVAL);
	return attach_to(prog, &target);
}

struct bpf_link *bpf_program__attach_kprobe(const struct bpf_program *prog, bool retprobe,
					    const char *func_name)
{
	wasm_bpf_bpf_program_attach_target_t target = {
		.tag = WASM_BPF_BPF_PROGRAM_ATTACH_TARGET_KPROBE,
		.val.kprobe = { .function = wbpf_str(func_name), .retprobe = retprobe },
	};

	if (!func_name)
		return wbpf_err_ptr(-EINVAL);
	return attach_to(prog, &target);
}

struct bpf_link *bpf_program__attach_uprobe_opts(const struct bpf_program *prog, pid_t pid,
						 const char *binary_path, size_t func_offset,
						 const struct bpf_uprobe_opts *opts)
{
	wasm_bpf_bpf_program_attach_target_t target = {
		.tag = WASM_BPF_BPF_PROGRAM_ATTACH_TARGET_UPROBE,
	};
	wasm_bpf_bpf_program_uprobe_target_t *up = &target.val.uprobe;

	if (!binary_path)
		return wbpf_err_ptr(-EINVAL);
	if (opts && (opts->ref_ctr_offset || opts->bpf_cookie || opts->attach_mode))
		return wbpf_err_ptr(-EOPNOTSUPP);
	up->binary.tag = WASM_BPF_BPF_PROGRAM_BINARY_PATH;
	up->binary.val.path = wbpf_str(binary_path);
	if (opts && opts->func_name) {
		up->function.is_some = true;
		up->function.val = wbpf_str(opts->func_name);
	}
	up->offset = func_offset;
	if (pid >= 0) {
		up->pid.is_some = true;
		up->pid.val = pid;
	}
	up->retprobe = opts && opts->retprobe;
	return attach_to(prog, &target);
}

struct bpf_link *bpf_program__attach_uprobe(const struct bpf_program *prog, bool retprobe,
					    pid_t pid, const char *binary_path,
					    size_t func_offset)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);

	return bpf_program__attach_uprobe_opts(prog, pid, binary_path, func_offset, &opts);
}

struct bpf_link *bpf_program__attach_xdp(const struct bpf_program *prog, int ifindex)
{
	(void)prog;
	(void)ifindex;
	return wbpf_err_ptr(-EOPNOTSUPP);
}

struct bpf_link *bpf_program__attach_perf_event(const struct bpf_program *prog, int pfd)
{
	(void)prog;
	(void)pfd;
	return wbpf_err_ptr(-EOPNOTSUPP);
}

struct bpf_link *wasm_bpf_program__attach_xdp(const struct bpf_program *prog,
					      const char *ifname, enum wasm_bpf_xdp_mode mode)
{
	wasm_bpf_bpf_program_attach_target_t target = {
		.tag = WASM_BPF_BPF_PROGRAM_ATTACH_TARGET_XDP,
		.val.xdp = { .interface = wbpf_str(ifname), .mode = (uint8_t)mode },
	};

	if (!ifname || mode > WASM_BPF_XDP_OFFLOAD)
		return wbpf_err_ptr(-EINVAL);
	return attach_to(prog, &target);
}

struct bpf_link *wasm_bpf_program__attach_tc(const struct bpf_program *prog,
					     const char *ifname, bool egress)
{
	wasm_bpf_bpf_program_attach_target_t target = {
		.tag = WASM_BPF_BPF_PROGRAM_ATTACH_TARGET_TC,
		.val.tc = { .interface = wbpf_str(ifname),
			    .direction = egress ? WASM_BPF_BPF_PROGRAM_TC_DIRECTION_EGRESS
						: WASM_BPF_BPF_PROGRAM_TC_DIRECTION_INGRESS },
	};

	if (!ifname)
		return wbpf_err_ptr(-EINVAL);
	return attach_to(prog, &target);
}

struct bpf_link *wasm_bpf_program__attach_perf_event(const struct bpf_program *prog,
						     __u64 freq, int cpu, pid_t pid)
{
	wasm_bpf_bpf_program_attach_target_t target = {
		.tag = WASM_BPF_BPF_PROGRAM_ATTACH_TARGET_PERF_EVENT,
	};
	wasm_bpf_bpf_program_perf_event_target_t *pe = &target.val.perf_event;

	pe->event = WASM_BPF_BPF_PROGRAM_PERF_EVENT_KIND_CPU_CLOCK;
	pe->rate.tag = WASM_BPF_BPF_PROGRAM_SAMPLE_RATE_FREQUENCY;
	pe->rate.val.frequency = freq;
	if (cpu >= 0) {
		pe->cpu.is_some = true;
		pe->cpu.val = cpu;
	}
	if (pid >= 0) {
		pe->pid.is_some = true;
		pe->pid.val = pid;
	}
	return attach_to(prog, &target);
}

int bpf_link__detach(struct bpf_link *link)
{
	wbpf_error_t e;

	if (!link)
		return wbpf_err(-EINVAL);
	if (!link->attached)
		return 0;
	if (!wasm_bpf_bpf_link_method_link_detach(wasm_bpf_bpf_link_borrow_link(link->handle),
						  &e))
		return wbpf_fail(&e);
	link->attached = false;
	return 0;
}

int bpf_link__destroy(struct bpf_link *link)
{
	if (!link)
		return 0;
	/* Dropping the resource detaches what is still attached. */
	wasm_bpf_bpf_link_link_drop_own(link->handle);
	free(link);
	return 0;
}
