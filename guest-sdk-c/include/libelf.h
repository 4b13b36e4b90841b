/* A read-only subset of libelf (elfutils' API), for wasm-bpf C guests:
 * what libbpf-tools' uprobe_helpers.c and trace_helpers.c ask of it, on
 * the ELF files of the machine the guest was granted (`run --dir`).
 *
 * elf_begin() reads the whole file into guest memory (ELF_C_READ and
 * ELF_C_READ_MMAP alike); 64-bit and 32-bit files in the byte order of
 * the host, which is the only order a uprobe target on it has. Sections
 * have one Elf_Data each, the file's bytes (nothing is converted). Calls
 * that write an ELF file are not provided. */
#ifndef __WASM_BPF_LIBELF_H
#define __WASM_BPF_LIBELF_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct Elf Elf;
typedef struct Elf_Scn Elf_Scn;

typedef enum {
	ELF_K_NONE,
	ELF_K_AR,
	ELF_K_COFF,
	ELF_K_ELF,
	ELF_K_NUM
} Elf_Kind;

typedef enum {
	ELF_C_NULL,
	ELF_C_READ,
	ELF_C_RDWR,
	ELF_C_WRITE,
	ELF_C_CLR,
	ELF_C_SET,
	ELF_C_FDDONE,
	ELF_C_FDREAD,
	ELF_C_READ_MMAP,
	ELF_C_RDWR_MMAP,
	ELF_C_WRITE_MMAP,
	ELF_C_READ_MMAP_PRIVATE,
	ELF_C_EMPTY,
	ELF_C_NUM
} Elf_Cmd;

typedef enum {
	ELF_T_BYTE,
	ELF_T_ADDR,
	ELF_T_DYN,
	ELF_T_EHDR,
	ELF_T_HALF,
	ELF_T_OFF,
	ELF_T_PHDR,
	ELF_T_RELA,
	ELF_T_REL,
	ELF_T_SHDR,
	ELF_T_SWORD,
	ELF_T_SYM,
	ELF_T_WORD,
	ELF_T_XWORD,
	ELF_T_SXWORD,
	ELF_T_VDEF,
	ELF_T_VDAUX,
	ELF_T_VNEED,
	ELF_T_VNAUX,
	ELF_T_NHDR,
	ELF_T_SYMINFO,
	ELF_T_MOVE,
	ELF_T_LIB,
	ELF_T_GNUHASH,
	ELF_T_AUXV,
	ELF_T_CHDR,
	ELF_T_NHDR8,
	ELF_T_NUM
} Elf_Type;

/* A section's bytes. */
typedef struct {
	void *d_buf;
	Elf_Type d_type;
	unsigned int d_version;
	size_t d_size;
	int64_t d_off;
	size_t d_align;
} Elf_Data;

/* EV_CURRENT for any known version (the caller's check against EV_NONE
 * then passes), EV_NONE for an unknown one. */
unsigned int elf_version(unsigned int version);
/* Reads the file open at `fd` (ELF_C_READ or ELF_C_READ_MMAP; `ref` must
 * be NULL). A file that is not ELF gives an Elf of kind ELF_K_NONE, as
 * libelf's does; NULL with elf_errmsg() set when it cannot be read. */
Elf *elf_begin(int fd, Elf_Cmd cmd, Elf *ref);
/* The same over `size` bytes at `image`, which must outlive the Elf. */
Elf *elf_memory(char *image, size_t size);
int elf_end(Elf *elf);
Elf_Kind elf_kind(Elf *elf);
/* The bytes of the file: its size into `*size` if not NULL. */
char *elf_rawfile(Elf *elf, size_t *size);

/* Sections: elf_nextscn(elf, NULL) is the first after the null section. */
Elf_Scn *elf_getscn(Elf *elf, size_t index);
Elf_Scn *elf_nextscn(Elf *elf, Elf_Scn *scn);
size_t elf_ndxscn(Elf_Scn *scn);
Elf_Data *elf_getdata(Elf_Scn *scn, Elf_Data *data);
Elf_Data *elf_rawdata(Elf_Scn *scn, Elf_Data *data);
/* The NUL-terminated string at `offset` of string table `index`; NULL
 * when it is not one or the string runs past its end. */
char *elf_strptr(Elf *elf, size_t index, size_t offset);
int elf_getshdrnum(Elf *elf, size_t *dst);
int elf_getshdrstrndx(Elf *elf, size_t *dst);
int elf_getphdrnum(Elf *elf, size_t *dst);

/* The headers of a 64-bit file, in place; NULL for a 32-bit one. */
Elf64_Ehdr *elf64_getehdr(Elf *elf);
Elf64_Shdr *elf64_getshdr(Elf_Scn *scn);

/* The last error (0: none), and its text: elf_errmsg(-1) the last
 * error's, elf_errmsg(0) the same or NULL when there is none. */
int elf_errno(void);
const char *elf_errmsg(int error);

#ifdef __cplusplus
}
#endif

#endif
