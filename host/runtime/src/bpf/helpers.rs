//! Every BPF helper the kernel knows, classified by what it does: an
//! allow-list, as kfuncs have. A helper the table does not know is
//! refused, so one a future kernel adds is never allowed just by
//! appearing (`tests` checks the table against the running kernel's
//! `enum bpf_func_id`).

use libbpf_rs::ProgramType;

/// What a helper does, which decides whether a program may call it
/// without a grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Reads kernel or process state, as any tracing program may anyway.
    Reads,
    /// Works on the program's own objects (its maps, buffers, timers,
    /// locks, references, iterator output) or only computes.
    Own,
    /// Changes what the program's hook hands it: the packet, the socket,
    /// the sysctl, the exec. Such a hook is granted first (`--allow-net`,
    /// `--allow cgroup`, `--allow lsm`, `--allow struct_ops`); a program
    /// that runs without a grant (an iterator, a tracepoint) needs
    /// `--allow-helper` for it: `bpf_setsockopt` in `iter/tcp` reaches
    /// every TCP socket of the machine.
    Hook,
    /// Acts on something else: other processes (signals, their memory),
    /// kernel functions' results, the BPF syscall, input devices. Always
    /// needs `--allow-helper`.
    Acts,
}

impl Class {
    /// How `inspect` and refusals name the class.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Reads => "reading kernel state",
            Self::Own => "working on the program's own objects",
            Self::Hook => "changing what its hook hands it",
            Self::Acts => "acting on the rest of the system",
        }
    }
}

use Class::{Acts, Hook, Own, Reads};

/// Every helper of the UAPI's `enum bpf_func_id`: its number (which never
/// changes), its name, what it does.
pub const HELPERS: &[(u32, &str, Class)] = &[
    (1, "bpf_map_lookup_elem", Own),
    (2, "bpf_map_update_elem", Own),
    (3, "bpf_map_delete_elem", Own),
    (4, "bpf_probe_read", Reads),
    (5, "bpf_ktime_get_ns", Reads),
    // Output to the kernel's trace buffer, as a ring buffer's.
    (6, "bpf_trace_printk", Own),
    (7, "bpf_get_prandom_u32", Reads),
    (8, "bpf_get_smp_processor_id", Reads),
    (9, "bpf_skb_store_bytes", Hook),
    (10, "bpf_l3_csum_replace", Hook),
    (11, "bpf_l4_csum_replace", Hook),
    (12, "bpf_tail_call", Own),
    (13, "bpf_clone_redirect", Hook),
    (14, "bpf_get_current_pid_tgid", Reads),
    (15, "bpf_get_current_uid_gid", Reads),
    (16, "bpf_get_current_comm", Reads),
    (17, "bpf_get_cgroup_classid", Reads),
    (18, "bpf_skb_vlan_push", Hook),
    (19, "bpf_skb_vlan_pop", Hook),
    (20, "bpf_skb_get_tunnel_key", Reads),
    (21, "bpf_skb_set_tunnel_key", Hook),
    (22, "bpf_perf_event_read", Reads),
    (23, "bpf_redirect", Hook),
    (24, "bpf_get_route_realm", Reads),
    (25, "bpf_perf_event_output", Own),
    (26, "bpf_skb_load_bytes", Reads),
    (27, "bpf_get_stackid", Reads),
    (28, "bpf_csum_diff", Own),
    (29, "bpf_skb_get_tunnel_opt", Reads),
    (30, "bpf_skb_set_tunnel_opt", Hook),
    (31, "bpf_skb_change_proto", Hook),
    (32, "bpf_skb_change_type", Hook),
    (33, "bpf_skb_under_cgroup", Reads),
    // Sets the packet's hash as it computes it.
    (34, "bpf_get_hash_recalc", Hook),
    (35, "bpf_get_current_task", Reads),
    (36, "bpf_probe_write_user", Acts),
    (37, "bpf_current_task_under_cgroup", Reads),
    (38, "bpf_skb_change_tail", Hook),
    (39, "bpf_skb_pull_data", Hook),
    (40, "bpf_csum_update", Hook),
    (41, "bpf_set_hash_invalid", Hook),
    (42, "bpf_get_numa_node_id", Reads),
    (43, "bpf_skb_change_head", Hook),
    (44, "bpf_xdp_adjust_head", Hook),
    (45, "bpf_probe_read_str", Reads),
    (46, "bpf_get_socket_cookie", Reads),
    (47, "bpf_get_socket_uid", Reads),
    (48, "bpf_set_hash", Hook),
    (49, "bpf_setsockopt", Hook),
    (50, "bpf_skb_adjust_room", Hook),
    (51, "bpf_redirect_map", Hook),
    (52, "bpf_sk_redirect_map", Hook),
    (53, "bpf_sock_map_update", Hook),
    (54, "bpf_xdp_adjust_meta", Hook),
    (55, "bpf_perf_event_read_value", Reads),
    (56, "bpf_perf_prog_read_value", Reads),
    (57, "bpf_getsockopt", Reads),
    (58, "bpf_override_return", Acts),
    (59, "bpf_sock_ops_cb_flags_set", Hook),
    (60, "bpf_msg_redirect_map", Hook),
    (61, "bpf_msg_apply_bytes", Hook),
    (62, "bpf_msg_cork_bytes", Hook),
    (63, "bpf_msg_pull_data", Hook),
    (64, "bpf_bind", Hook),
    (65, "bpf_xdp_adjust_tail", Hook),
    (66, "bpf_skb_get_xfrm_state", Reads),
    (67, "bpf_get_stack", Reads),
    (68, "bpf_skb_load_bytes_relative", Reads),
    (69, "bpf_fib_lookup", Reads),
    (70, "bpf_sock_hash_update", Hook),
    (71, "bpf_msg_redirect_hash", Hook),
    (72, "bpf_sk_redirect_hash", Hook),
    (73, "bpf_lwt_push_encap", Hook),
    (74, "bpf_lwt_seg6_store_bytes", Hook),
    (75, "bpf_lwt_seg6_adjust_srh", Hook),
    (76, "bpf_lwt_seg6_action", Hook),
    // Input events, as if typed on the machine.
    (77, "bpf_rc_repeat", Acts),
    (78, "bpf_rc_keydown", Acts),
    (79, "bpf_skb_cgroup_id", Reads),
    (80, "bpf_get_current_cgroup_id", Reads),
    (81, "bpf_get_local_storage", Own),
    (82, "bpf_sk_select_reuseport", Hook),
    (83, "bpf_skb_ancestor_cgroup_id", Reads),
    (84, "bpf_sk_lookup_tcp", Reads),
    (85, "bpf_sk_lookup_udp", Reads),
    (86, "bpf_sk_release", Own),
    (87, "bpf_map_push_elem", Own),
    (88, "bpf_map_pop_elem", Own),
    (89, "bpf_map_peek_elem", Own),
    (90, "bpf_msg_push_data", Hook),
    (91, "bpf_msg_pop_data", Hook),
    (92, "bpf_rc_pointer_rel", Acts),
    (93, "bpf_spin_lock", Own),
    (94, "bpf_spin_unlock", Own),
    (95, "bpf_sk_fullsock", Reads),
    (96, "bpf_tcp_sock", Reads),
    (97, "bpf_skb_ecn_set_ce", Hook),
    (98, "bpf_get_listener_sock", Reads),
    (99, "bpf_skc_lookup_tcp", Reads),
    (100, "bpf_tcp_check_syncookie", Reads),
    (101, "bpf_sysctl_get_name", Reads),
    (102, "bpf_sysctl_get_current_value", Reads),
    (103, "bpf_sysctl_get_new_value", Reads),
    (104, "bpf_sysctl_set_new_value", Hook),
    (105, "bpf_strtol", Own),
    (106, "bpf_strtoul", Own),
    (107, "bpf_sk_storage_get", Own),
    (108, "bpf_sk_storage_delete", Own),
    (109, "bpf_send_signal", Acts),
    (110, "bpf_tcp_gen_syncookie", Reads),
    (111, "bpf_skb_output", Own),
    (112, "bpf_probe_read_user", Reads),
    (113, "bpf_probe_read_kernel", Reads),
    (114, "bpf_probe_read_user_str", Reads),
    (115, "bpf_probe_read_kernel_str", Reads),
    (116, "bpf_tcp_send_ack", Hook),
    (117, "bpf_send_signal_thread", Acts),
    (118, "bpf_jiffies64", Reads),
    (119, "bpf_read_branch_records", Reads),
    (120, "bpf_get_ns_current_pid_tgid", Reads),
    (121, "bpf_xdp_output", Own),
    (122, "bpf_get_netns_cookie", Reads),
    (123, "bpf_get_current_ancestor_cgroup_id", Reads),
    (124, "bpf_sk_assign", Hook),
    (125, "bpf_ktime_get_boot_ns", Reads),
    (126, "bpf_seq_printf", Own),
    (127, "bpf_seq_write", Own),
    (128, "bpf_sk_cgroup_id", Reads),
    (129, "bpf_sk_ancestor_cgroup_id", Reads),
    (130, "bpf_ringbuf_output", Own),
    (131, "bpf_ringbuf_reserve", Own),
    (132, "bpf_ringbuf_submit", Own),
    (133, "bpf_ringbuf_discard", Own),
    (134, "bpf_ringbuf_query", Own),
    (135, "bpf_csum_level", Hook),
    (136, "bpf_skc_to_tcp6_sock", Reads),
    (137, "bpf_skc_to_tcp_sock", Reads),
    (138, "bpf_skc_to_tcp_timewait_sock", Reads),
    (139, "bpf_skc_to_tcp_request_sock", Reads),
    (140, "bpf_skc_to_udp6_sock", Reads),
    (141, "bpf_get_task_stack", Reads),
    (142, "bpf_load_hdr_opt", Reads),
    (143, "bpf_store_hdr_opt", Hook),
    (144, "bpf_reserve_hdr_opt", Hook),
    (145, "bpf_inode_storage_get", Own),
    (146, "bpf_inode_storage_delete", Own),
    (147, "bpf_d_path", Reads),
    (148, "bpf_copy_from_user", Reads),
    (149, "bpf_snprintf_btf", Own),
    (150, "bpf_seq_printf_btf", Own),
    (151, "bpf_skb_cgroup_classid", Reads),
    (152, "bpf_redirect_neigh", Hook),
    (153, "bpf_per_cpu_ptr", Reads),
    (154, "bpf_this_cpu_ptr", Reads),
    (155, "bpf_redirect_peer", Hook),
    (156, "bpf_task_storage_get", Own),
    (157, "bpf_task_storage_delete", Own),
    (158, "bpf_get_current_task_btf", Reads),
    (159, "bpf_bprm_opts_set", Hook),
    (160, "bpf_ktime_get_coarse_ns", Reads),
    (161, "bpf_ima_inode_hash", Reads),
    (162, "bpf_sock_from_file", Reads),
    (163, "bpf_check_mtu", Reads),
    (164, "bpf_for_each_map_elem", Own),
    (165, "bpf_snprintf", Own),
    (166, "bpf_sys_bpf", Acts),
    (167, "bpf_btf_find_by_name_kind", Reads),
    (168, "bpf_sys_close", Acts),
    (169, "bpf_timer_init", Own),
    (170, "bpf_timer_set_callback", Own),
    (171, "bpf_timer_start", Own),
    (172, "bpf_timer_cancel", Own),
    (173, "bpf_get_func_ip", Reads),
    (174, "bpf_get_attach_cookie", Reads),
    (175, "bpf_task_pt_regs", Reads),
    (176, "bpf_get_branch_snapshot", Reads),
    (177, "bpf_trace_vprintk", Own),
    (178, "bpf_skc_to_unix_sock", Reads),
    (179, "bpf_kallsyms_lookup_name", Reads),
    (180, "bpf_find_vma", Reads),
    (181, "bpf_loop", Own),
    (182, "bpf_strncmp", Own),
    (183, "bpf_get_func_arg", Reads),
    (184, "bpf_get_func_ret", Reads),
    (185, "bpf_get_func_arg_cnt", Reads),
    (186, "bpf_get_retval", Reads),
    (187, "bpf_set_retval", Hook),
    (188, "bpf_xdp_get_buff_len", Reads),
    (189, "bpf_xdp_load_bytes", Reads),
    (190, "bpf_xdp_store_bytes", Hook),
    (191, "bpf_copy_from_user_task", Reads),
    (192, "bpf_skb_set_tstamp", Hook),
    (193, "bpf_ima_file_hash", Reads),
    (194, "bpf_kptr_xchg", Own),
    (195, "bpf_map_lookup_percpu_elem", Own),
    (196, "bpf_skc_to_mptcp_sock", Reads),
    (197, "bpf_dynptr_from_mem", Own),
    (198, "bpf_ringbuf_reserve_dynptr", Own),
    (199, "bpf_ringbuf_submit_dynptr", Own),
    (200, "bpf_ringbuf_discard_dynptr", Own),
    (201, "bpf_dynptr_read", Own),
    (202, "bpf_dynptr_write", Own),
    (203, "bpf_dynptr_data", Own),
    (204, "bpf_tcp_raw_gen_syncookie_ipv4", Reads),
    (205, "bpf_tcp_raw_gen_syncookie_ipv6", Reads),
    (206, "bpf_tcp_raw_check_syncookie_ipv4", Reads),
    (207, "bpf_tcp_raw_check_syncookie_ipv6", Reads),
    (208, "bpf_ktime_get_tai_ns", Reads),
    (209, "bpf_user_ringbuf_drain", Own),
    (210, "bpf_cgrp_storage_get", Own),
    (211, "bpf_cgrp_storage_delete", Own),
];

/// The number libbpf writes over a call whose CO-RE relocation failed
/// (`0xbad2310`), so that the kernel refuses it if it is reachable.
pub const POISONED_CO_RE: u32 = 0xbad_2310;

/// The first number libbpf writes (plus the map's index) over a load of a
/// map it did not create (`set-autocreate false`), for the same reason.
pub const POISONED_MAP_BASE: u32 = 2_001_000_000;

/// The first number libbpf writes (plus the extern's index) over a call
/// of a weak kfunc the kernel lacks, for the same reason.
pub const POISONED_KFUNC_BASE: u32 = 2_002_000_000;

/// What libbpf marked as unusable with a call no kernel has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poison {
    /// A failed CO-RE relocation.
    CoRe,
    /// A map that was not created.
    Map,
    /// A weak kfunc this kernel lacks.
    Kfunc,
}

impl Poison {
    /// How `inspect` and logs name it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::CoRe => "a failed CO-RE relocation",
            Self::Map => "a map libbpf did not create",
            Self::Kfunc => "a kfunc this kernel lacks",
        }
    }
}

/// What a helper number is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helper {
    /// A helper of the table.
    Known(&'static str, Class),
    /// libbpf's mark, written over an instruction it could not make
    /// usable: no helper is called, and the kernel refuses the call
    /// wherever it is reachable (libbpf then says what it stood for).
    Poisoned(Poison),
    /// A number the table does not know.
    Unknown,
}

/// The class of the helper called `name` (`bpf_...`).
pub fn class_of(name: &str) -> Option<Class> {
    HELPERS
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(_, _, class)| *class)
}

/// What helper number `id` is.
pub fn helper(id: u32) -> Helper {
    // An object has far fewer maps and externs than this.
    const SPAN: u32 = 1_000_000;
    if let Ok(at) = HELPERS.binary_search_by_key(&id, |(n, _, _)| *n) {
        let (_, name, class) = HELPERS[at];
        return Helper::Known(name, class);
    }
    match id {
        POISONED_CO_RE => Helper::Poisoned(Poison::CoRe),
        n if (POISONED_MAP_BASE..POISONED_MAP_BASE + SPAN).contains(&n) => {
            Helper::Poisoned(Poison::Map)
        }
        n if (POISONED_KFUNC_BASE..POISONED_KFUNC_BASE + SPAN).contains(&n) => {
            Helper::Poisoned(Poison::Kfunc)
        }
        _ => Helper::Unknown,
    }
}

/// Whether programs of type `ty` with expected attach type `attach` run
/// only where a grant put them, so that a [`Class::Hook`] helper changes
/// only what that grant allows: hooks granted at load (`--allow
/// cgroup|lsm|struct_ops|fentry`) and the interface hooks (`--allow-net`).
pub fn hook_is_granted(ty: ProgramType, attach: u32) -> bool {
    use super::policy::{load_hook, runs, Runs};
    load_hook(ty, attach).is_some() || runs(ty) == Runs::OnInterface
}

/// Whether a program of type `ty` (attach type `attach`) calling a helper
/// of `class` needs `--allow-helper` for it.
pub fn needs_grant(class: Class, ty: ProgramType, attach: u32) -> bool {
    match class {
        Class::Reads | Class::Own => false,
        Class::Hook => !hook_is_granted(ty, attach),
        Class::Acts => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_order_and_names_each_number_once() {
        assert!(HELPERS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(
            helper(libbpf_sys::BPF_FUNC_send_signal),
            Helper::Known("bpf_send_signal", Class::Acts)
        );
        assert_eq!(
            helper(libbpf_sys::BPF_FUNC_setsockopt),
            Helper::Known("bpf_setsockopt", Class::Hook)
        );
        assert_eq!(
            helper(libbpf_sys::BPF_FUNC_ringbuf_output),
            Helper::Known("bpf_ringbuf_output", Class::Own)
        );
        assert_eq!(helper(0), Helper::Unknown);
        assert_eq!(helper(212), Helper::Unknown);
        assert_eq!(helper(POISONED_CO_RE), Helper::Poisoned(Poison::CoRe));
        assert_eq!(helper(POISONED_MAP_BASE + 2), Helper::Poisoned(Poison::Map));
        assert_eq!(
            helper(POISONED_KFUNC_BASE + 3),
            Helper::Poisoned(Poison::Kfunc)
        );
        assert_eq!(helper(POISONED_KFUNC_BASE + 1_000_000), Helper::Unknown);
    }

    /// Every helper of the UAPI libbpf-sys was built with is in the table,
    /// under its name and number.
    #[test]
    fn the_table_matches_libbpfs_uapi() {
        assert_eq!(
            HELPERS.last().map(|(id, _, _)| *id),
            Some(libbpf_sys::__BPF_FUNC_MAX_ID - 1)
        );
    }

    /// The running kernel's `enum bpf_func_id` (its BTF): a helper this
    /// table does not classify, or classifies under another name, fails.
    #[test]
    fn every_helper_of_the_running_kernel_is_classified() {
        use libbpf_rs::btf::types::Enum;
        let btf = libbpf_rs::Btf::from_vmlinux().expect("the running kernel's BTF");
        let ids = btf
            .type_by_name::<Enum<'_>>("bpf_func_id")
            .expect("enum bpf_func_id in the kernel's BTF");
        let mut seen = 0;
        for value in ids.iter() {
            let name = value.name.and_then(|n| n.to_str()).expect("a name");
            let Some(short) = name.strip_prefix("BPF_FUNC_") else {
                continue; // __BPF_FUNC_MAX_ID
            };
            if short == "unspec" {
                continue;
            }
            let id = value.value as u32;
            match helper(id) {
                Helper::Known(ours, _) => assert_eq!(ours, format!("bpf_{short}"), "helper #{id}"),
                other => panic!("the kernel's helper #{id} `bpf_{short}` is {other:?} to wasm-bpf: classify it in helpers.rs"),
            }
            seen += 1;
        }
        assert!(seen >= 211, "only {seen} helpers in the kernel's BTF");
    }
}
