//! The original wasm-bpf imports, pointer by pointer.
//!
//! Every pointer and length from the module is checked against its
//! memory before use: a bad one is `-EFAULT` (or a 0 handle), never a
//! host panic. Buffer polling calls back into the module: a function of
//! its `__indirect_function_table` (`int (*)(void *ctx, void *data, int
//! size)`), or for TinyGo modules the export `go-callback`.

use wasmtime::{Caller, Extern, Linker, Memory, Result, TypedFunc};

use super::LegacyHost;

/// Longest string (object, program or map name, attach target) read.
const MAX_STRING: usize = 4096;

type Ctx<'a> = Caller<'a, LegacyHost>;

fn memory(caller: &mut Ctx<'_>) -> Option<Memory> {
    caller.get_export("memory").and_then(Extern::into_memory)
}

/// `len` bytes at `ptr` of the module's memory, if all are there.
fn range(caller: &mut Ctx<'_>, ptr: i32, len: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len)?;
    let size = memory(caller)?.data_size(&*caller);
    (end <= size).then_some(start..end)
}

fn read(caller: &mut Ctx<'_>, ptr: i32, len: usize) -> Option<Vec<u8>> {
    let range = range(caller, ptr, len)?;
    Some(memory(caller)?.data(&*caller)[range].to_vec())
}

fn write(caller: &mut Ctx<'_>, ptr: i32, bytes: &[u8]) -> bool {
    match (range(caller, ptr, bytes.len()), memory(caller)) {
        (Some(range), Some(memory)) => {
            memory.data_mut(&mut *caller)[range].copy_from_slice(bytes);
            true
        }
        _ => false,
    }
}

/// The NUL-terminated string at `ptr`; `None` for a NULL pointer or one
/// without a terminator in memory (within [`MAX_STRING`]), or not UTF-8.
fn string(caller: &mut Ctx<'_>, ptr: i32) -> Option<String> {
    if ptr == 0 {
        return None;
    }
    let memory = memory(caller)?;
    let data = memory.data(&*caller);
    let start = ptr as u32 as usize;
    let tail = data.get(start..)?;
    let tail = &tail[..tail.len().min(MAX_STRING)];
    let len = tail.iter().position(|&b| b == 0)?;
    String::from_utf8(tail[..len].to_vec()).ok()
}

pub(super) fn add_to_linker(linker: &mut Linker<LegacyHost>) -> Result<()> {
    linker.func_wrap(
        "wasm_bpf",
        "wasm_load_bpf_object",
        |mut caller: Ctx<'_>, buf: i32, len: i32| -> Result<i64> {
            let Some(elf) = usize::try_from(len)
                .ok()
                .and_then(|len| read(&mut caller, buf, len))
            else {
                tracing::warn!("wasm_load_bpf_object: the object is outside the module's memory");
                return Ok(0);
            };
            let (legacy, mut view) = caller.data_mut().parts();
            legacy.load(&mut view, elf)
        },
    )?;
    linker.func_wrap(
        "wasm_bpf",
        "wasm_close_bpf_object",
        |mut caller: Ctx<'_>, obj: i64| -> Result<i32> {
            let (legacy, mut view) = caller.data_mut().parts();
            legacy.close(&mut view, obj as u64)
        },
    )?;
    linker.func_wrap(
        "wasm_bpf",
        "wasm_attach_bpf_program",
        |mut caller: Ctx<'_>, obj: i64, name: i32, target: i32| -> Result<i32> {
            let Some(name) = string(&mut caller, name) else {
                return Ok(-libc::EFAULT);
            };
            let target = string(&mut caller, target).filter(|t| !t.is_empty());
            let (legacy, mut view) = caller.data_mut().parts();
            legacy.attach(&mut view, obj as u64, &name, target.as_deref())
        },
    )?;
    linker.func_wrap(
        "wasm_bpf",
        "wasm_bpf_map_fd_by_name",
        |mut caller: Ctx<'_>, obj: i64, name: i32| -> Result<i32> {
            let Some(name) = string(&mut caller, name) else {
                return Ok(-libc::EFAULT);
            };
            let (legacy, mut view) = caller.data_mut().parts();
            legacy.map_fd(&mut view, obj as u64, &name)
        },
    )?;
    linker.func_wrap("wasm_bpf", "wasm_bpf_map_operate", map_operate)?;
    linker.func_wrap_async(
        "wasm_bpf",
        "wasm_bpf_buffer_poll",
        |caller: Ctx<'_>,
         (_obj, fd, sample_fn, ctx, buf, buf_len, timeout): (i64, i32, i32, i32, i32, i32, i32)| {
            Box::new(poll(caller, Callback::Table(sample_fn), fd, ctx, buf, buf_len, timeout))
        },
    )?;
    linker.func_wrap_async(
        "callback-wrapper",
        "wasm_bpf_buffer_poll",
        |caller: Ctx<'_>,
         (_obj, fd, ctx, buf, buf_len, timeout): (i64, i32, i32, i32, i32, i32)| {
            Box::new(poll(
                caller,
                Callback::GoExport,
                fd,
                ctx,
                buf,
                buf_len,
                timeout,
            ))
        },
    )?;
    Ok(())
}

fn map_operate(
    mut caller: Ctx<'_>,
    fd: i32,
    cmd: i32,
    key: i32,
    value: i32,
    next_key: i32,
    flags: i64,
) -> Result<i32> {
    use super::state::{BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM};
    let Some((key_size, value_size)) = caller.data().legacy.sizes(fd) else {
        return Ok(-libc::EBADF);
    };
    // get-next-key takes a NULL key for the first key.
    let key = if cmd == BPF_MAP_GET_NEXT_KEY && key == 0 {
        None
    } else {
        match read(&mut caller, key, key_size) {
            Some(key) => Some(key),
            None => return Ok(-libc::EFAULT),
        }
    };
    let value_in = if cmd == BPF_MAP_UPDATE_ELEM {
        match read(&mut caller, value, value_size) {
            Some(value) => value,
            None => return Ok(-libc::EFAULT),
        }
    } else {
        Vec::new()
    };
    // Where the answer goes, checked before the map changes.
    let out = match cmd {
        BPF_MAP_LOOKUP_ELEM => Some((value, value_size)),
        BPF_MAP_GET_NEXT_KEY => Some((next_key, key_size)),
        _ => None,
    };
    if let Some((ptr, len)) = out {
        if range(&mut caller, ptr, len).is_none() {
            return Ok(-libc::EFAULT);
        }
    }
    let (legacy, mut view) = caller.data_mut().parts();
    match legacy.operate(&mut view, fd, cmd, key, value_in, flags as u64)? {
        Err(errno) => Ok(errno),
        Ok(answer) => {
            if let (Some((ptr, _)), Some(bytes)) = (out, answer) {
                if !write(&mut caller, ptr, &bytes) {
                    return Ok(-libc::EFAULT);
                }
            }
            Ok(0)
        }
    }
}

/// Where a module's event callback lives.
#[derive(Clone, Copy)]
enum Callback {
    /// An index into `__indirect_function_table` (C, Rust SDKs).
    Table(i32),
    /// The export `go-callback` (TinyGo SDK).
    GoExport,
}

fn callback(caller: &mut Ctx<'_>, which: Callback) -> Option<TypedFunc<(i32, i32, i32), i32>> {
    let func = match which {
        Callback::Table(index) => {
            let table = caller
                .get_export("__indirect_function_table")
                .and_then(Extern::into_table)?;
            match table.get(&mut *caller, u64::from(index as u32))? {
                wasmtime::Ref::Func(Some(func)) => func,
                _ => return None,
            }
        }
        Callback::GoExport => caller
            .get_export("go-callback")
            .and_then(Extern::into_func)?,
    };
    func.typed(&*caller).ok()
}

/// Hands each ready record to the module's callback, copied into its
/// `buf` (at most `buf_len` bytes). Waits up to `timeout` ms for the first
/// one; returns how many were handed over, or the first negative value a
/// callback returned (the records after it stay queued), or `-errno`.
async fn poll(
    mut caller: Ctx<'_>,
    which: Callback,
    fd: i32,
    ctx: i32,
    buf: i32,
    buf_len: i32,
    timeout: i32,
) -> Result<i32> {
    let Ok(cap) = usize::try_from(buf_len) else {
        return Ok(-libc::EINVAL);
    };
    // Checked before a record is taken, so none is lost to a bad buffer;
    // memory never shrinks, so the range stays valid.
    if range(&mut caller, buf, cap).is_none() {
        return Ok(-libc::EFAULT);
    }
    let Some(func) = callback(&mut caller, which) else {
        tracing::warn!("wasm_bpf_buffer_poll: no callback of type (i32, i32, i32) -> i32");
        return Ok(-libc::EINVAL);
    };
    let mut delivered = 0;
    loop {
        let wait = if delivered == 0 { timeout } else { 0 };
        let (legacy, mut view) = caller.data_mut().parts();
        let record = match legacy.next_record(&mut view, fd, wait)? {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(errno) => return Ok(errno),
        };
        let n = record.len().min(cap);
        if n < record.len() {
            let truncated = &mut caller.data_mut().legacy.truncated;
            *truncated += 1;
            if truncated.is_power_of_two() {
                tracing::warn!(
                    "a {}-byte record was cut to the module's {cap}-byte buffer \
                     ({truncated} records cut so far)",
                    record.len()
                );
            }
        }
        write(&mut caller, buf, &record[..n]);
        let ret = func.call_async(&mut caller, (ctx, buf, n as i32)).await?;
        delivered += 1;
        if ret < 0 {
            return Ok(ret);
        }
    }
    Ok(delivered)
}
