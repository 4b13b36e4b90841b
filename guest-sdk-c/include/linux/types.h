/* The kernel's fixed-width types for wasm-bpf C guests: what the UAPI
 * headers (<linux/bpf.h>) and tools' own headers use. wasi-libc has no
 * <linux/types.h>, and the build machine's pulls in its architecture's
 * <asm/types.h>, which is not wasm32's. */
#ifndef __WASM_BPF_LINUX_TYPES_H
#define __WASM_BPF_LINUX_TYPES_H

#include <stdint.h>

typedef int8_t __s8;
typedef uint8_t __u8;
typedef int16_t __s16;
typedef uint16_t __u16;
typedef int32_t __s32;
typedef uint32_t __u32;
typedef int64_t __s64;
typedef uint64_t __u64;

#define __bitwise
typedef __u16 __le16;
typedef __u16 __be16;
typedef __u32 __le32;
typedef __u32 __be32;
typedef __u64 __le64;
typedef __u64 __be64;
typedef __u16 __sum16;
typedef __u32 __wsum;

#define __aligned_u64 __u64 __attribute__((aligned(8)))
#define __aligned_be64 __be64 __attribute__((aligned(8)))
#define __aligned_le64 __le64 __attribute__((aligned(8)))

#endif
