//! The `types` interface: error conversion and the kernel's kind numbers.

use crate::bindings::types::{AttachType, Error, Host, MapType, ProgType};
use crate::BpfError;

use super::BpfCtxView;

impl Host for BpfCtxView<'_> {
    fn convert_error(&mut self, err: BpfError) -> wasmtime::Result<Error> {
        match err {
            BpfError::Guest(e) => Ok(e),
            BpfError::Trap(t) => Err(t),
        }
    }
}

/// The WIT name of a `BPF_MAP_TYPE_*` number.
pub(crate) fn map_type(raw: u32) -> MapType {
    use libbpf_sys as s;
    match raw {
        s::BPF_MAP_TYPE_HASH => MapType::Hash,
        s::BPF_MAP_TYPE_ARRAY => MapType::Array,
        s::BPF_MAP_TYPE_PROG_ARRAY => MapType::ProgArray,
        s::BPF_MAP_TYPE_PERF_EVENT_ARRAY => MapType::PerfEventArray,
        s::BPF_MAP_TYPE_PERCPU_HASH => MapType::PercpuHash,
        s::BPF_MAP_TYPE_PERCPU_ARRAY => MapType::PercpuArray,
        s::BPF_MAP_TYPE_STACK_TRACE => MapType::StackTrace,
        s::BPF_MAP_TYPE_CGROUP_ARRAY => MapType::CgroupArray,
        s::BPF_MAP_TYPE_LRU_HASH => MapType::LruHash,
        s::BPF_MAP_TYPE_LRU_PERCPU_HASH => MapType::LruPercpuHash,
        s::BPF_MAP_TYPE_LPM_TRIE => MapType::LpmTrie,
        s::BPF_MAP_TYPE_ARRAY_OF_MAPS => MapType::ArrayOfMaps,
        s::BPF_MAP_TYPE_HASH_OF_MAPS => MapType::HashOfMaps,
        s::BPF_MAP_TYPE_DEVMAP => MapType::Devmap,
        s::BPF_MAP_TYPE_SOCKMAP => MapType::Sockmap,
        s::BPF_MAP_TYPE_CPUMAP => MapType::Cpumap,
        s::BPF_MAP_TYPE_XSKMAP => MapType::Xskmap,
        s::BPF_MAP_TYPE_SOCKHASH => MapType::Sockhash,
        s::BPF_MAP_TYPE_CGROUP_STORAGE => MapType::CgroupStorage,
        s::BPF_MAP_TYPE_REUSEPORT_SOCKARRAY => MapType::ReuseportSockarray,
        s::BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE => MapType::PercpuCgroupStorage,
        s::BPF_MAP_TYPE_QUEUE => MapType::Queue,
        s::BPF_MAP_TYPE_STACK => MapType::Stack,
        s::BPF_MAP_TYPE_SK_STORAGE => MapType::SkStorage,
        s::BPF_MAP_TYPE_DEVMAP_HASH => MapType::DevmapHash,
        s::BPF_MAP_TYPE_STRUCT_OPS => MapType::StructOps,
        s::BPF_MAP_TYPE_RINGBUF => MapType::Ringbuf,
        s::BPF_MAP_TYPE_INODE_STORAGE => MapType::InodeStorage,
        s::BPF_MAP_TYPE_TASK_STORAGE => MapType::TaskStorage,
        s::BPF_MAP_TYPE_BLOOM_FILTER => MapType::BloomFilter,
        s::BPF_MAP_TYPE_USER_RINGBUF => MapType::UserRingbuf,
        s::BPF_MAP_TYPE_CGRP_STORAGE => MapType::CgrpStorage,
        s::BPF_MAP_TYPE_ARENA => MapType::Arena,
        other => MapType::Other(other),
    }
}

/// The WIT name of a `BPF_PROG_TYPE_*` number.
pub(crate) fn prog_type(raw: u32) -> ProgType {
    use libbpf_sys as s;
    match raw {
        s::BPF_PROG_TYPE_SOCKET_FILTER => ProgType::SocketFilter,
        s::BPF_PROG_TYPE_KPROBE => ProgType::Kprobe,
        s::BPF_PROG_TYPE_SCHED_CLS => ProgType::SchedCls,
        s::BPF_PROG_TYPE_SCHED_ACT => ProgType::SchedAct,
        s::BPF_PROG_TYPE_TRACEPOINT => ProgType::Tracepoint,
        s::BPF_PROG_TYPE_XDP => ProgType::Xdp,
        s::BPF_PROG_TYPE_PERF_EVENT => ProgType::PerfEvent,
        s::BPF_PROG_TYPE_CGROUP_SKB => ProgType::CgroupSkb,
        s::BPF_PROG_TYPE_CGROUP_SOCK => ProgType::CgroupSock,
        s::BPF_PROG_TYPE_LWT_IN => ProgType::LwtIn,
        s::BPF_PROG_TYPE_LWT_OUT => ProgType::LwtOut,
        s::BPF_PROG_TYPE_LWT_XMIT => ProgType::LwtXmit,
        s::BPF_PROG_TYPE_SOCK_OPS => ProgType::SockOps,
        s::BPF_PROG_TYPE_SK_SKB => ProgType::SkSkb,
        s::BPF_PROG_TYPE_CGROUP_DEVICE => ProgType::CgroupDevice,
        s::BPF_PROG_TYPE_SK_MSG => ProgType::SkMsg,
        s::BPF_PROG_TYPE_RAW_TRACEPOINT => ProgType::RawTracepoint,
        s::BPF_PROG_TYPE_CGROUP_SOCK_ADDR => ProgType::CgroupSockAddr,
        s::BPF_PROG_TYPE_LWT_SEG6LOCAL => ProgType::LwtSeg6local,
        s::BPF_PROG_TYPE_LIRC_MODE2 => ProgType::LircMode2,
        s::BPF_PROG_TYPE_SK_REUSEPORT => ProgType::SkReuseport,
        s::BPF_PROG_TYPE_FLOW_DISSECTOR => ProgType::FlowDissector,
        s::BPF_PROG_TYPE_CGROUP_SYSCTL => ProgType::CgroupSysctl,
        s::BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE => ProgType::RawTracepointWritable,
        s::BPF_PROG_TYPE_CGROUP_SOCKOPT => ProgType::CgroupSockopt,
        s::BPF_PROG_TYPE_TRACING => ProgType::Tracing,
        s::BPF_PROG_TYPE_STRUCT_OPS => ProgType::StructOps,
        s::BPF_PROG_TYPE_EXT => ProgType::Ext,
        s::BPF_PROG_TYPE_LSM => ProgType::Lsm,
        s::BPF_PROG_TYPE_SK_LOOKUP => ProgType::SkLookup,
        s::BPF_PROG_TYPE_SYSCALL => ProgType::Syscall,
        s::BPF_PROG_TYPE_NETFILTER => ProgType::Netfilter,
        other => ProgType::Other(other),
    }
}

/// The WIT name of a `BPF_*` attach type number.
pub(crate) fn attach_type(raw: u32) -> AttachType {
    use libbpf_sys as s;
    match raw {
        s::BPF_CGROUP_INET_INGRESS => AttachType::CgroupInetIngress,
        s::BPF_CGROUP_INET_EGRESS => AttachType::CgroupInetEgress,
        s::BPF_CGROUP_INET_SOCK_CREATE => AttachType::CgroupInetSockCreate,
        s::BPF_CGROUP_SOCK_OPS => AttachType::CgroupSockOps,
        s::BPF_SK_SKB_STREAM_PARSER => AttachType::SkSkbStreamParser,
        s::BPF_SK_SKB_STREAM_VERDICT => AttachType::SkSkbStreamVerdict,
        s::BPF_CGROUP_DEVICE => AttachType::CgroupDevice,
        s::BPF_SK_MSG_VERDICT => AttachType::SkMsgVerdict,
        s::BPF_CGROUP_INET4_BIND => AttachType::CgroupInet4Bind,
        s::BPF_CGROUP_INET6_BIND => AttachType::CgroupInet6Bind,
        s::BPF_CGROUP_INET4_CONNECT => AttachType::CgroupInet4Connect,
        s::BPF_CGROUP_INET6_CONNECT => AttachType::CgroupInet6Connect,
        s::BPF_CGROUP_INET4_POST_BIND => AttachType::CgroupInet4PostBind,
        s::BPF_CGROUP_INET6_POST_BIND => AttachType::CgroupInet6PostBind,
        s::BPF_CGROUP_UDP4_SENDMSG => AttachType::CgroupUdp4Sendmsg,
        s::BPF_CGROUP_UDP6_SENDMSG => AttachType::CgroupUdp6Sendmsg,
        s::BPF_LIRC_MODE2 => AttachType::LircMode2,
        s::BPF_FLOW_DISSECTOR => AttachType::FlowDissector,
        s::BPF_CGROUP_SYSCTL => AttachType::CgroupSysctl,
        s::BPF_CGROUP_UDP4_RECVMSG => AttachType::CgroupUdp4Recvmsg,
        s::BPF_CGROUP_UDP6_RECVMSG => AttachType::CgroupUdp6Recvmsg,
        s::BPF_CGROUP_GETSOCKOPT => AttachType::CgroupGetsockopt,
        s::BPF_CGROUP_SETSOCKOPT => AttachType::CgroupSetsockopt,
        s::BPF_TRACE_RAW_TP => AttachType::TraceRawTp,
        s::BPF_TRACE_FENTRY => AttachType::TraceFentry,
        s::BPF_TRACE_FEXIT => AttachType::TraceFexit,
        s::BPF_MODIFY_RETURN => AttachType::ModifyReturn,
        s::BPF_LSM_MAC => AttachType::LsmMac,
        s::BPF_TRACE_ITER => AttachType::TraceIter,
        s::BPF_CGROUP_INET4_GETPEERNAME => AttachType::CgroupInet4Getpeername,
        s::BPF_CGROUP_INET6_GETPEERNAME => AttachType::CgroupInet6Getpeername,
        s::BPF_CGROUP_INET4_GETSOCKNAME => AttachType::CgroupInet4Getsockname,
        s::BPF_CGROUP_INET6_GETSOCKNAME => AttachType::CgroupInet6Getsockname,
        s::BPF_XDP_DEVMAP => AttachType::XdpDevmap,
        s::BPF_CGROUP_INET_SOCK_RELEASE => AttachType::CgroupInetSockRelease,
        s::BPF_XDP_CPUMAP => AttachType::XdpCpumap,
        s::BPF_SK_LOOKUP => AttachType::SkLookup,
        s::BPF_XDP => AttachType::Xdp,
        s::BPF_SK_SKB_VERDICT => AttachType::SkSkbVerdict,
        s::BPF_SK_REUSEPORT_SELECT => AttachType::SkReuseportSelect,
        s::BPF_SK_REUSEPORT_SELECT_OR_MIGRATE => AttachType::SkReuseportSelectOrMigrate,
        s::BPF_PERF_EVENT => AttachType::PerfEvent,
        s::BPF_TRACE_KPROBE_MULTI => AttachType::TraceKprobeMulti,
        s::BPF_LSM_CGROUP => AttachType::LsmCgroup,
        s::BPF_STRUCT_OPS => AttachType::StructOps,
        s::BPF_NETFILTER => AttachType::Netfilter,
        s::BPF_TCX_INGRESS => AttachType::TcxIngress,
        s::BPF_TCX_EGRESS => AttachType::TcxEgress,
        s::BPF_TRACE_UPROBE_MULTI => AttachType::TraceUprobeMulti,
        s::BPF_CGROUP_UNIX_CONNECT => AttachType::CgroupUnixConnect,
        s::BPF_CGROUP_UNIX_SENDMSG => AttachType::CgroupUnixSendmsg,
        s::BPF_CGROUP_UNIX_RECVMSG => AttachType::CgroupUnixRecvmsg,
        s::BPF_CGROUP_UNIX_GETPEERNAME => AttachType::CgroupUnixGetpeername,
        s::BPF_CGROUP_UNIX_GETSOCKNAME => AttachType::CgroupUnixGetsockname,
        s::BPF_NETKIT_PRIMARY => AttachType::NetkitPrimary,
        s::BPF_NETKIT_PEER => AttachType::NetkitPeer,
        s::BPF_TRACE_KPROBE_SESSION => AttachType::TraceKprobeSession,
        s::BPF_TRACE_UPROBE_SESSION => AttachType::TraceUprobeSession,
        s::BPF_TRACE_FSESSION => AttachType::TraceFsession,
        other => AttachType::Other(other),
    }
}
