//! The `types` interface: error conversion and the kernel's kind numbers.

use crate::bindings::types::{AttachType, Error, Host, MapType, ProgType};
use crate::BpfError;

use super::BpfCtxView;

/// A WIT enum of kernel kind numbers (with an `other(u32)` case) and the
/// two conversions, from one table: `$to_wit` names a number, `$to_raw`
/// gives a name's number back.
macro_rules! kinds {
    ($(#[$doc:meta])* $wit:ident, $to_wit:ident, $to_raw:ident; $($case:ident = $raw:ident,)*) => {
        $(#[$doc])*
        pub(crate) fn $to_wit(raw: u32) -> $wit {
            match raw {
                $(libbpf_sys::$raw => $wit::$case,)*
                other => $wit::Other(other),
            }
        }

        pub(crate) fn $to_raw(kind: $wit) -> u32 {
            match kind {
                $($wit::$case => libbpf_sys::$raw,)*
                $wit::Other(raw) => raw,
            }
        }
    };
}

impl Host for BpfCtxView<'_> {
    fn convert_error(&mut self, err: BpfError) -> wasmtime::Result<Error> {
        match err {
            BpfError::Guest(e) => {
                self.ctx
                    .observer
                    .host_call_failed(crate::error::wit_name(e.code));
                Ok(e)
            }
            BpfError::Trap(t) => Err(t),
        }
    }
}

kinds! {
    /// The WIT name of a `BPF_MAP_TYPE_*` number, and back.
    MapType, map_type, raw_map_type;
    Hash = BPF_MAP_TYPE_HASH,
    Array = BPF_MAP_TYPE_ARRAY,
    ProgArray = BPF_MAP_TYPE_PROG_ARRAY,
    PerfEventArray = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
    PercpuHash = BPF_MAP_TYPE_PERCPU_HASH,
    PercpuArray = BPF_MAP_TYPE_PERCPU_ARRAY,
    StackTrace = BPF_MAP_TYPE_STACK_TRACE,
    CgroupArray = BPF_MAP_TYPE_CGROUP_ARRAY,
    LruHash = BPF_MAP_TYPE_LRU_HASH,
    LruPercpuHash = BPF_MAP_TYPE_LRU_PERCPU_HASH,
    LpmTrie = BPF_MAP_TYPE_LPM_TRIE,
    ArrayOfMaps = BPF_MAP_TYPE_ARRAY_OF_MAPS,
    HashOfMaps = BPF_MAP_TYPE_HASH_OF_MAPS,
    Devmap = BPF_MAP_TYPE_DEVMAP,
    Sockmap = BPF_MAP_TYPE_SOCKMAP,
    Cpumap = BPF_MAP_TYPE_CPUMAP,
    Xskmap = BPF_MAP_TYPE_XSKMAP,
    Sockhash = BPF_MAP_TYPE_SOCKHASH,
    CgroupStorage = BPF_MAP_TYPE_CGROUP_STORAGE,
    ReuseportSockarray = BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
    PercpuCgroupStorage = BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
    Queue = BPF_MAP_TYPE_QUEUE,
    Stack = BPF_MAP_TYPE_STACK,
    SkStorage = BPF_MAP_TYPE_SK_STORAGE,
    DevmapHash = BPF_MAP_TYPE_DEVMAP_HASH,
    StructOps = BPF_MAP_TYPE_STRUCT_OPS,
    Ringbuf = BPF_MAP_TYPE_RINGBUF,
    InodeStorage = BPF_MAP_TYPE_INODE_STORAGE,
    TaskStorage = BPF_MAP_TYPE_TASK_STORAGE,
    BloomFilter = BPF_MAP_TYPE_BLOOM_FILTER,
    UserRingbuf = BPF_MAP_TYPE_USER_RINGBUF,
    CgrpStorage = BPF_MAP_TYPE_CGRP_STORAGE,
    Arena = BPF_MAP_TYPE_ARENA,
}

kinds! {
    /// The WIT name of a `BPF_PROG_TYPE_*` number, and back.
    ProgType, prog_type, raw_prog_type;
    SocketFilter = BPF_PROG_TYPE_SOCKET_FILTER,
    Kprobe = BPF_PROG_TYPE_KPROBE,
    SchedCls = BPF_PROG_TYPE_SCHED_CLS,
    SchedAct = BPF_PROG_TYPE_SCHED_ACT,
    Tracepoint = BPF_PROG_TYPE_TRACEPOINT,
    Xdp = BPF_PROG_TYPE_XDP,
    PerfEvent = BPF_PROG_TYPE_PERF_EVENT,
    CgroupSkb = BPF_PROG_TYPE_CGROUP_SKB,
    CgroupSock = BPF_PROG_TYPE_CGROUP_SOCK,
    LwtIn = BPF_PROG_TYPE_LWT_IN,
    LwtOut = BPF_PROG_TYPE_LWT_OUT,
    LwtXmit = BPF_PROG_TYPE_LWT_XMIT,
    SockOps = BPF_PROG_TYPE_SOCK_OPS,
    SkSkb = BPF_PROG_TYPE_SK_SKB,
    CgroupDevice = BPF_PROG_TYPE_CGROUP_DEVICE,
    SkMsg = BPF_PROG_TYPE_SK_MSG,
    RawTracepoint = BPF_PROG_TYPE_RAW_TRACEPOINT,
    CgroupSockAddr = BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
    LwtSeg6local = BPF_PROG_TYPE_LWT_SEG6LOCAL,
    LircMode2 = BPF_PROG_TYPE_LIRC_MODE2,
    SkReuseport = BPF_PROG_TYPE_SK_REUSEPORT,
    FlowDissector = BPF_PROG_TYPE_FLOW_DISSECTOR,
    CgroupSysctl = BPF_PROG_TYPE_CGROUP_SYSCTL,
    RawTracepointWritable = BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE,
    CgroupSockopt = BPF_PROG_TYPE_CGROUP_SOCKOPT,
    Tracing = BPF_PROG_TYPE_TRACING,
    StructOps = BPF_PROG_TYPE_STRUCT_OPS,
    Ext = BPF_PROG_TYPE_EXT,
    Lsm = BPF_PROG_TYPE_LSM,
    SkLookup = BPF_PROG_TYPE_SK_LOOKUP,
    Syscall = BPF_PROG_TYPE_SYSCALL,
    Netfilter = BPF_PROG_TYPE_NETFILTER,
}

kinds! {
    /// The WIT name of a `BPF_*` attach type number, and back.
    AttachType, attach_type, raw_attach_type;
    CgroupInetIngress = BPF_CGROUP_INET_INGRESS,
    CgroupInetEgress = BPF_CGROUP_INET_EGRESS,
    CgroupInetSockCreate = BPF_CGROUP_INET_SOCK_CREATE,
    CgroupSockOps = BPF_CGROUP_SOCK_OPS,
    SkSkbStreamParser = BPF_SK_SKB_STREAM_PARSER,
    SkSkbStreamVerdict = BPF_SK_SKB_STREAM_VERDICT,
    CgroupDevice = BPF_CGROUP_DEVICE,
    SkMsgVerdict = BPF_SK_MSG_VERDICT,
    CgroupInet4Bind = BPF_CGROUP_INET4_BIND,
    CgroupInet6Bind = BPF_CGROUP_INET6_BIND,
    CgroupInet4Connect = BPF_CGROUP_INET4_CONNECT,
    CgroupInet6Connect = BPF_CGROUP_INET6_CONNECT,
    CgroupInet4PostBind = BPF_CGROUP_INET4_POST_BIND,
    CgroupInet6PostBind = BPF_CGROUP_INET6_POST_BIND,
    CgroupUdp4Sendmsg = BPF_CGROUP_UDP4_SENDMSG,
    CgroupUdp6Sendmsg = BPF_CGROUP_UDP6_SENDMSG,
    LircMode2 = BPF_LIRC_MODE2,
    FlowDissector = BPF_FLOW_DISSECTOR,
    CgroupSysctl = BPF_CGROUP_SYSCTL,
    CgroupUdp4Recvmsg = BPF_CGROUP_UDP4_RECVMSG,
    CgroupUdp6Recvmsg = BPF_CGROUP_UDP6_RECVMSG,
    CgroupGetsockopt = BPF_CGROUP_GETSOCKOPT,
    CgroupSetsockopt = BPF_CGROUP_SETSOCKOPT,
    TraceRawTp = BPF_TRACE_RAW_TP,
    TraceFentry = BPF_TRACE_FENTRY,
    TraceFexit = BPF_TRACE_FEXIT,
    ModifyReturn = BPF_MODIFY_RETURN,
    LsmMac = BPF_LSM_MAC,
    TraceIter = BPF_TRACE_ITER,
    CgroupInet4Getpeername = BPF_CGROUP_INET4_GETPEERNAME,
    CgroupInet6Getpeername = BPF_CGROUP_INET6_GETPEERNAME,
    CgroupInet4Getsockname = BPF_CGROUP_INET4_GETSOCKNAME,
    CgroupInet6Getsockname = BPF_CGROUP_INET6_GETSOCKNAME,
    XdpDevmap = BPF_XDP_DEVMAP,
    CgroupInetSockRelease = BPF_CGROUP_INET_SOCK_RELEASE,
    XdpCpumap = BPF_XDP_CPUMAP,
    SkLookup = BPF_SK_LOOKUP,
    Xdp = BPF_XDP,
    SkSkbVerdict = BPF_SK_SKB_VERDICT,
    SkReuseportSelect = BPF_SK_REUSEPORT_SELECT,
    SkReuseportSelectOrMigrate = BPF_SK_REUSEPORT_SELECT_OR_MIGRATE,
    PerfEvent = BPF_PERF_EVENT,
    TraceKprobeMulti = BPF_TRACE_KPROBE_MULTI,
    LsmCgroup = BPF_LSM_CGROUP,
    StructOps = BPF_STRUCT_OPS,
    Netfilter = BPF_NETFILTER,
    TcxIngress = BPF_TCX_INGRESS,
    TcxEgress = BPF_TCX_EGRESS,
    TraceUprobeMulti = BPF_TRACE_UPROBE_MULTI,
    CgroupUnixConnect = BPF_CGROUP_UNIX_CONNECT,
    CgroupUnixSendmsg = BPF_CGROUP_UNIX_SENDMSG,
    CgroupUnixRecvmsg = BPF_CGROUP_UNIX_RECVMSG,
    CgroupUnixGetpeername = BPF_CGROUP_UNIX_GETPEERNAME,
    CgroupUnixGetsockname = BPF_CGROUP_UNIX_GETSOCKNAME,
    NetkitPrimary = BPF_NETKIT_PRIMARY,
    NetkitPeer = BPF_NETKIT_PEER,
    TraceKprobeSession = BPF_TRACE_KPROBE_SESSION,
    TraceUprobeSession = BPF_TRACE_UPROBE_SESSION,
    TraceFsession = BPF_TRACE_FSESSION,
}
