//! What a program calls: helpers and kfuncs, read from the instructions
//! the kernel will receive (after libbpf's relocation, which appends every
//! subprogram a program calls, and resolves each kfunc to its BTF id).
//!
//! The policy decides on these; the names come from here.

use libbpf_sys::bpf_insn;

/// The kfuncs a program may call without a grant: each only reads kernel
/// state (as tracing does anyway) or works on the program's own BPF
/// objects (its locks, lists, trees, cpumasks, dynptrs, iterators). Every
/// other kfunc needs `--allow-kfunc <name>`: an allow-list, because the
/// kernel gains kfuncs with every release, and a new one that acts (on
/// processes, files, sockets, conntrack, keys) must not become allowed
/// just by appearing.
const READ_ONLY_KFUNCS: &[&str] = &[
    "bpf_arena_alloc_pages",
    "bpf_arena_free_pages",
    "bpf_arena_reserve_pages",
    "bpf_cast_to_kern_ctx",
    "bpf_cgroup_acquire",
    "bpf_cgroup_ancestor",
    "bpf_cgroup_from_id",
    "bpf_cgroup_read_xattr",
    "bpf_cgroup_release",
    "bpf_copy_from_user_dynptr",
    "bpf_copy_from_user_str",
    "bpf_copy_from_user_str_dynptr",
    "bpf_copy_from_user_task_dynptr",
    "bpf_copy_from_user_task_str",
    "bpf_copy_from_user_task_str_dynptr",
    "bpf_cpumask_acquire",
    "bpf_cpumask_and",
    "bpf_cpumask_any_and_distribute",
    "bpf_cpumask_any_distribute",
    "bpf_cpumask_clear",
    "bpf_cpumask_clear_cpu",
    "bpf_cpumask_copy",
    "bpf_cpumask_create",
    "bpf_cpumask_empty",
    "bpf_cpumask_equal",
    "bpf_cpumask_first",
    "bpf_cpumask_first_and",
    "bpf_cpumask_first_zero",
    "bpf_cpumask_full",
    "bpf_cpumask_intersects",
    "bpf_cpumask_or",
    "bpf_cpumask_populate",
    "bpf_cpumask_release",
    "bpf_cpumask_set_cpu",
    "bpf_cpumask_setall",
    "bpf_cpumask_subset",
    "bpf_cpumask_test_and_clear_cpu",
    "bpf_cpumask_test_and_set_cpu",
    "bpf_cpumask_test_cpu",
    "bpf_cpumask_weight",
    "bpf_cpumask_xor",
    "bpf_dynptr_adjust",
    "bpf_dynptr_clone",
    "bpf_dynptr_copy",
    "bpf_dynptr_is_null",
    "bpf_dynptr_is_rdonly",
    "bpf_dynptr_memset",
    "bpf_dynptr_size",
    "bpf_dynptr_slice",
    "bpf_dynptr_slice_rdwr",
    "bpf_get_dentry_xattr",
    "bpf_get_file_xattr",
    "bpf_get_kmem_cache",
    "bpf_get_task_exe_file",
    "bpf_iter_bits_destroy",
    "bpf_iter_bits_new",
    "bpf_iter_bits_next",
    "bpf_iter_css_destroy",
    "bpf_iter_css_new",
    "bpf_iter_css_next",
    "bpf_iter_css_task_destroy",
    "bpf_iter_css_task_new",
    "bpf_iter_css_task_next",
    "bpf_iter_dmabuf_destroy",
    "bpf_iter_dmabuf_new",
    "bpf_iter_dmabuf_next",
    "bpf_iter_kmem_cache_destroy",
    "bpf_iter_kmem_cache_new",
    "bpf_iter_kmem_cache_next",
    "bpf_iter_num_destroy",
    "bpf_iter_num_new",
    "bpf_iter_num_next",
    "bpf_iter_task_destroy",
    "bpf_iter_task_new",
    "bpf_iter_task_next",
    "bpf_iter_task_vma_destroy",
    "bpf_iter_task_vma_new",
    "bpf_iter_task_vma_next",
    "bpf_list_back",
    "bpf_list_front",
    "bpf_list_pop_back",
    "bpf_list_pop_front",
    "bpf_list_push_back_impl",
    "bpf_list_push_front_impl",
    "bpf_local_irq_restore",
    "bpf_local_irq_save",
    "bpf_map_sum_elem_count",
    "bpf_obj_drop_impl",
    "bpf_obj_new_impl",
    "bpf_path_d_path",
    "bpf_percpu_obj_drop_impl",
    "bpf_percpu_obj_new_impl",
    "bpf_preempt_disable",
    "bpf_preempt_enable",
    "bpf_probe_read_kernel_dynptr",
    "bpf_probe_read_kernel_str_dynptr",
    "bpf_probe_read_user_dynptr",
    "bpf_probe_read_user_str_dynptr",
    "bpf_put_file",
    "bpf_rbtree_add_impl",
    "bpf_rbtree_first",
    "bpf_rbtree_left",
    "bpf_rbtree_remove",
    "bpf_rbtree_right",
    "bpf_rbtree_root",
    "bpf_rcu_read_lock",
    "bpf_rcu_read_unlock",
    "bpf_rdonly_cast",
    "bpf_refcount_acquire_impl",
    "bpf_res_spin_lock",
    "bpf_res_spin_lock_irqsave",
    "bpf_res_spin_unlock",
    "bpf_res_spin_unlock_irqrestore",
    "bpf_session_cookie",
    "bpf_session_is_return",
    "bpf_strcasecmp",
    "bpf_strchr",
    "bpf_strchrnul",
    "bpf_strcmp",
    "bpf_strcspn",
    "bpf_stream_vprintk_impl",
    "bpf_strlen",
    "bpf_strnchr",
    "bpf_strnlen",
    "bpf_strnstr",
    "bpf_strrchr",
    "bpf_strspn",
    "bpf_strstr",
    "bpf_task_acquire",
    "bpf_task_from_pid",
    "bpf_task_from_vpid",
    "bpf_task_get_cgroup1",
    "bpf_task_release",
    "bpf_task_under_cgroup",
    "bpf_throw",
];

/// A call a program makes, as the kernel will see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// A helper, by the kernel's number.
    Helper(u32),
    /// A kfunc, by its BTF id; `module` when it is a kernel module's
    /// (its id is then one of that module's BTF, not vmlinux's).
    Kfunc { btf_id: u32, module: bool },
}

/// The helper or kfunc `insn` calls, if it calls one. BPF-to-BPF calls
/// are not: after relocation their targets are in the program too.
pub fn call(insn: &bpf_insn) -> Option<Call> {
    const CALL: u8 = (libbpf_sys::BPF_JMP | libbpf_sys::BPF_CALL) as u8;
    if insn.code != CALL {
        return None;
    }
    match u32::from(insn.src_reg()) {
        0 => Some(Call::Helper(insn.imm as u32)),
        libbpf_sys::BPF_PSEUDO_KFUNC_CALL => Some(Call::Kfunc {
            btf_id: insn.imm as u32,
            module: insn.off != 0,
        }),
        _ => None,
    }
}

/// Every helper and kfunc call in `insns`.
pub fn calls(insns: &[bpf_insn]) -> impl Iterator<Item = Call> + '_ {
    insns.iter().filter_map(call)
}

/// `bytes` (a section of an ELF object) read as instructions; a partial
/// instruction at the end is left out.
pub fn insns_of(bytes: &[u8]) -> Vec<bpf_insn> {
    bytes
        .chunks_exact(size_of::<bpf_insn>())
        // SAFETY: `bpf_insn` is 8 bytes of plain integers, which any 8
        // bytes are; the read is unaligned.
        .map(|chunk| unsafe { std::ptr::read_unaligned(chunk.as_ptr().cast::<bpf_insn>()) })
        .collect()
}

/// Whether `insns`, as an ELF object has them (before libbpf's
/// relocation), call another function: a subprogram or a kfunc, which
/// clang both writes as BPF-to-BPF calls.
pub fn calls_functions(insns: &[bpf_insn]) -> bool {
    const CALL: u8 = (libbpf_sys::BPF_JMP | libbpf_sys::BPF_CALL) as u8;
    insns
        .iter()
        .any(|insn| insn.code == CALL && u32::from(insn.src_reg()) == libbpf_sys::BPF_PSEUDO_CALL)
}

/// Whether the kfunc `name` may be called without a grant.
pub fn kfunc_is_read_only(name: &str) -> bool {
    READ_ONLY_KFUNCS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(src: u8, imm: i32, off: i16) -> bpf_insn {
        let mut insn = bpf_insn {
            code: (libbpf_sys::BPF_JMP | libbpf_sys::BPF_CALL) as u8,
            imm,
            off,
            ..Default::default()
        };
        insn.set_src_reg(src);
        insn
    }

    #[test]
    fn helpers_and_kfuncs_are_found_but_not_bpf_to_bpf_calls() {
        let insns = [
            call(0, libbpf_sys::BPF_FUNC_send_signal as i32, 0),
            call(0, libbpf_sys::BPF_FUNC_ringbuf_output as i32, 0),
            call(1, libbpf_sys::BPF_FUNC_probe_write_user as i32, 0),
            call(2, 1234, 0),
            call(2, 99, 1),
        ];
        assert_eq!(
            calls(&insns).collect::<Vec<_>>(),
            [
                Call::Helper(libbpf_sys::BPF_FUNC_send_signal),
                Call::Helper(libbpf_sys::BPF_FUNC_ringbuf_output),
                Call::Kfunc {
                    btf_id: 1234,
                    module: false
                },
                Call::Kfunc {
                    btf_id: 99,
                    module: true
                },
            ]
        );
    }

    #[test]
    fn sections_read_as_instructions() {
        let insns = [
            call(1, -1, 0),
            call(0, libbpf_sys::BPF_FUNC_send_signal as i32, 0),
        ];
        // SAFETY: plain integers, read back as bytes.
        let bytes: &[u8] =
            unsafe { std::slice::from_raw_parts(insns.as_ptr().cast(), size_of_val(&insns)) };
        let mut section = bytes.to_vec();
        section.push(0x85);
        let read = insns_of(&section);
        assert_eq!(read.len(), 2, "the partial instruction is left out");
        assert!(calls_functions(&read));
        assert!(!calls_functions(&read[1..]));
        assert_eq!(
            calls(&read).collect::<Vec<_>>(),
            [Call::Helper(libbpf_sys::BPF_FUNC_send_signal)]
        );
    }

    #[test]
    fn kfuncs_that_act_need_a_grant() {
        assert!(READ_ONLY_KFUNCS.is_sorted(), "binary search needs order");
        for name in [
            "bpf_rcu_read_lock",
            "bpf_cpumask_create",
            "bpf_iter_num_new",
        ] {
            assert!(kfunc_is_read_only(name), "{name}");
        }
        for name in [
            "bpf_send_signal_task",
            "bpf_set_dentry_xattr",
            "bpf_sock_destroy",
            "bpf_ct_set_status",
            "bpf_task_work_schedule_signal_impl",
            "some_future_kfunc",
            // Families allowed by name, not by prefix: a new member must
            // be classified before it runs.
            "bpf_iter_some_future_new",
            "bpf_cpumask_some_future_op",
        ] {
            assert!(!kfunc_is_read_only(name), "{name}");
        }
    }
}
