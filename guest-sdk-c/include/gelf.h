/* libelf's class-independent API (gelf), read-only, over <libelf.h>: each
 * call copies the 32- or 64-bit structure into its 64-bit form. */
#ifndef __WASM_BPF_GELF_H
#define __WASM_BPF_GELF_H

#include <libelf.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef Elf64_Half GElf_Half;
typedef Elf64_Word GElf_Word;
typedef Elf64_Sword GElf_Sword;
typedef Elf64_Xword GElf_Xword;
typedef Elf64_Sxword GElf_Sxword;
typedef Elf64_Addr GElf_Addr;
typedef Elf64_Off GElf_Off;
typedef Elf64_Ehdr GElf_Ehdr;
typedef Elf64_Shdr GElf_Shdr;
typedef Elf64_Phdr GElf_Phdr;
typedef Elf64_Sym GElf_Sym;
typedef Elf64_Rel GElf_Rel;
typedef Elf64_Rela GElf_Rela;
typedef Elf64_Dyn GElf_Dyn;
typedef Elf64_Nhdr GElf_Nhdr;

#define GELF_ST_BIND ELF64_ST_BIND
#define GELF_ST_TYPE ELF64_ST_TYPE
#define GELF_ST_INFO ELF64_ST_INFO
#define GELF_ST_VISIBILITY ELF64_ST_VISIBILITY
#define GELF_R_SYM ELF64_R_SYM
#define GELF_R_TYPE ELF64_R_TYPE
#define GELF_R_INFO ELF64_R_INFO

/* ELFCLASS32, ELFCLASS64, or ELFCLASSNONE for what is not ELF. */
int gelf_getclass(Elf *elf);
/* Each fills `dst` and returns it, or returns NULL (elf_errmsg() says
 * why) for an index out of range or a truncated file. */
GElf_Ehdr *gelf_getehdr(Elf *elf, GElf_Ehdr *dst);
GElf_Shdr *gelf_getshdr(Elf_Scn *scn, GElf_Shdr *dst);
GElf_Phdr *gelf_getphdr(Elf *elf, int index, GElf_Phdr *dst);
/* Symbol `index` of a symbol table's data (from elf_getdata()). */
GElf_Sym *gelf_getsym(Elf_Data *data, int index, GElf_Sym *dst);
/* Entry `index` of a SHT_DYNAMIC section's data. */
GElf_Dyn *gelf_getdyn(Elf_Data *data, int index, GElf_Dyn *dst);

#ifdef __cplusplus
}
#endif

#endif
