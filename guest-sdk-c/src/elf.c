/* The read-only libelf/gelf subset of <libelf.h> and <gelf.h>. Every
 * offset and size read from the file is checked against the file before
 * use: the files are the machine's binaries, which a guest does not
 * choose the bytes of, but a truncated or odd one must fail, not crash. */
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum elf_error {
	E_NONE,
	E_NOMEM,
	E_READ,
	E_ARGUMENT,
	E_CMD,
	E_CLASS,
	E_TRUNCATED,
	E_INDEX,
	E_NOT_STRTAB,
	E_NUM,
};

static const char *const messages[E_NUM] = {
	[E_NONE] = "no error",
	[E_NOMEM] = "out of memory",
	[E_READ] = "could not read the file",
	[E_ARGUMENT] = "invalid argument",
	[E_CMD] = "unsupported command (read-only: ELF_C_READ or ELF_C_READ_MMAP)",
	[E_CLASS] = "unsupported ELF class or byte order",
	[E_TRUNCATED] = "the file ends before the data it describes",
	[E_INDEX] = "index out of range",
	[E_NOT_STRTAB] = "not a string table, or the string runs past its end",
};

static int last_error;

struct Elf_Scn {
	Elf *elf;
	size_t index;
	Elf_Data data;
	GElf_Shdr shdr;
};

struct Elf {
	Elf_Kind kind;
	/* The file's bytes; owned unless from elf_memory(). */
	unsigned char *image;
	size_t size;
	bool owned;
	int class;
	GElf_Ehdr ehdr;
	Elf_Scn *scns;
	size_t scn_cnt;
	size_t phnum;
};

static void *fail(int error)
{
	last_error = error;
	return NULL;
}

int elf_errno(void)
{
	int error = last_error;

	last_error = E_NONE;
	return error;
}

const char *elf_errmsg(int error)
{
	if (error == 0)
		return last_error ? messages[last_error] : NULL;
	if (error < 0)
		error = last_error;
	return error > 0 && error < E_NUM ? messages[error] : "unknown error";
}

unsigned int elf_version(unsigned int version)
{
	if (version < EV_NUM)
		return EV_CURRENT;
	fail(E_ARGUMENT);
	return EV_NONE;
}

/* Whether `len` bytes at `off` lie within the file. */
static bool within(const Elf *elf, uint64_t off, uint64_t len)
{
	return off <= elf->size && len <= elf->size - off;
}

static bool host_order(unsigned char data)
{
	const uint16_t one = 1;

	return data == (*(const unsigned char *)&one ? ELFDATA2LSB : ELFDATA2MSB);
}

/* Section header `i` in its 64-bit form; false past the file's end. */
static bool read_shdr(const Elf *elf, size_t i, GElf_Shdr *dst)
{
	uint64_t off = elf->ehdr.e_shoff + (uint64_t)i * elf->ehdr.e_shentsize;
	Elf32_Shdr s;

	if (elf->class == ELFCLASS64) {
		if (elf->ehdr.e_shentsize < sizeof(*dst) || !within(elf, off, sizeof(*dst)))
			return false;
		memcpy(dst, elf->image + off, sizeof(*dst));
		return true;
	}
	if (elf->ehdr.e_shentsize < sizeof(s) || !within(elf, off, sizeof(s)))
		return false;
	memcpy(&s, elf->image + off, sizeof(s));
	*dst = (GElf_Shdr){ s.sh_name,	 s.sh_type, s.sh_flags,	   s.sh_addr, s.sh_offset,
			    s.sh_size,	 s.sh_link, s.sh_info,	   s.sh_addralign,
			    s.sh_entsize };
	return true;
}

/* Reads the ELF header and indexes the sections; false (the error set)
 * for a file that claims to be ELF but cannot be read as one. */
static bool parse(Elf *elf)
{
	const unsigned char *id = elf->image;
	GElf_Shdr first;
	size_t i;

	if (elf->size < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG)) {
		elf->kind = ELF_K_NONE;
		return true;
	}
	elf->kind = ELF_K_ELF;
	elf->class = id[EI_CLASS];
	if ((elf->class != ELFCLASS64 && elf->class != ELFCLASS32) || !host_order(id[EI_DATA]))
		return fail(E_CLASS), false;
	if (elf->class == ELFCLASS64) {
		if (!within(elf, 0, sizeof(Elf64_Ehdr)))
			return fail(E_TRUNCATED), false;
		memcpy(&elf->ehdr, elf->image, sizeof(Elf64_Ehdr));
	} else {
		Elf32_Ehdr h;

		if (!within(elf, 0, sizeof(h)))
			return fail(E_TRUNCATED), false;
		memcpy(&h, elf->image, sizeof(h));
		memcpy(elf->ehdr.e_ident, h.e_ident, EI_NIDENT);
		elf->ehdr.e_type = h.e_type;
		elf->ehdr.e_machine = h.e_machine;
		elf->ehdr.e_version = h.e_version;
		elf->ehdr.e_entry = h.e_entry;
		elf->ehdr.e_phoff = h.e_phoff;
		elf->ehdr.e_shoff = h.e_shoff;
		elf->ehdr.e_flags = h.e_flags;
		elf->ehdr.e_ehsize = h.e_ehsize;
		elf->ehdr.e_phentsize = h.e_phentsize;
		elf->ehdr.e_phnum = h.e_phnum;
		elf->ehdr.e_shentsize = h.e_shentsize;
		elf->ehdr.e_shnum = h.e_shnum;
		elf->ehdr.e_shstrndx = h.e_shstrndx;
	}
	elf->scn_cnt = elf->ehdr.e_shnum;
	elf->phnum = elf->ehdr.e_phnum;
	/* Past 0xff00 sections or 0xffff program headers the counts move to
	 * section 0. */
	if (elf->ehdr.e_shoff && read_shdr(elf, 0, &first)) {
		if (elf->scn_cnt == 0)
			elf->scn_cnt = first.sh_size;
		if (elf->phnum == PN_XNUM)
			elf->phnum = first.sh_info;
	}
	if (!elf->ehdr.e_shoff)
		elf->scn_cnt = 0;
	if (elf->scn_cnt > elf->size / (elf->ehdr.e_shentsize ? elf->ehdr.e_shentsize : 1))
		return fail(E_TRUNCATED), false;
	elf->scns = calloc(elf->scn_cnt ? elf->scn_cnt : 1, sizeof(*elf->scns));
	if (!elf->scns)
		return fail(E_NOMEM), false;
	for (i = 0; i < elf->scn_cnt; i++) {
		Elf_Scn *scn = &elf->scns[i];

		scn->elf = elf;
		scn->index = i;
		if (!read_shdr(elf, i, &scn->shdr))
			return fail(E_TRUNCATED), false;
	}
	return true;
}

static Elf *begin(unsigned char *image, size_t size, bool owned)
{
	Elf *elf = calloc(1, sizeof(*elf));

	if (!elf) {
		if (owned)
			free(image);
		return fail(E_NOMEM);
	}
	elf->image = image;
	elf->size = size;
	elf->owned = owned;
	if (!parse(elf)) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

Elf *elf_begin(int fd, Elf_Cmd cmd, Elf *ref)
{
	unsigned char *image;
	struct stat st;
	size_t done = 0;
	ssize_t n;

	if (cmd == ELF_C_NULL)
		return NULL;
	if (ref || (cmd != ELF_C_READ && cmd != ELF_C_READ_MMAP &&
		    cmd != ELF_C_READ_MMAP_PRIVATE))
		return fail(E_CMD);
	if (fstat(fd, &st) || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX)
		return fail(E_READ);
	image = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!image)
		return fail(E_NOMEM);
	while (done < (size_t)st.st_size) {
		n = pread(fd, image + done, (size_t)st.st_size - done, (off_t)done);
		if (n <= 0) {
			free(image);
			return fail(E_READ);
		}
		done += (size_t)n;
	}
	return begin(image, done, true);
}

Elf *elf_memory(char *image, size_t size)
{
	if (!image)
		return fail(E_ARGUMENT);
	return begin((unsigned char *)image, size, false);
}

int elf_end(Elf *elf)
{
	if (!elf)
		return 0;
	if (elf->owned)
		free(elf->image);
	free(elf->scns);
	free(elf);
	return 0;
}

Elf_Kind elf_kind(Elf *elf)
{
	return elf ? elf->kind : ELF_K_NONE;
}

char *elf_rawfile(Elf *elf, size_t *size)
{
	if (!elf) {
		if (size)
			*size = 0;
		return fail(E_ARGUMENT);
	}
	if (size)
		*size = elf->size;
	return (char *)elf->image;
}

int gelf_getclass(Elf *elf)
{
	return elf && elf->kind == ELF_K_ELF ? elf->class : ELFCLASSNONE;
}

GElf_Ehdr *gelf_getehdr(Elf *elf, GElf_Ehdr *dst)
{
	if (!elf || !dst || elf->kind != ELF_K_ELF)
		return fail(E_ARGUMENT);
	*dst = elf->ehdr;
	return dst;
}

Elf64_Ehdr *elf64_getehdr(Elf *elf)
{
	if (!elf || elf->kind != ELF_K_ELF || elf->class != ELFCLASS64)
		return fail(E_CLASS);
	return &elf->ehdr;
}

Elf_Scn *elf_getscn(Elf *elf, size_t index)
{
	if (!elf || index >= elf->scn_cnt)
		return fail(E_INDEX);
	return &elf->scns[index];
}

Elf_Scn *elf_nextscn(Elf *elf, Elf_Scn *scn)
{
	size_t next = scn ? scn->index + 1 : 1;

	if (!elf || next >= elf->scn_cnt)
		return NULL;
	return &elf->scns[next];
}

size_t elf_ndxscn(Elf_Scn *scn)
{
	return scn ? scn->index : SHN_UNDEF;
}

GElf_Shdr *gelf_getshdr(Elf_Scn *scn, GElf_Shdr *dst)
{
	if (!scn || !dst)
		return fail(E_ARGUMENT);
	*dst = scn->shdr;
	return dst;
}

Elf64_Shdr *elf64_getshdr(Elf_Scn *scn)
{
	if (!scn || scn->elf->class != ELFCLASS64)
		return fail(E_CLASS);
	return &scn->shdr;
}

Elf_Data *elf_getdata(Elf_Scn *scn, Elf_Data *data)
{
	const GElf_Shdr *sh;

	/* One Elf_Data per section: the one after it is none. */
	if (!scn || data)
		return NULL;
	sh = &scn->shdr;
	if (scn->index == 0 || sh->sh_type == SHT_NULL)
		return NULL;
	if (sh->sh_type == SHT_NOBITS) {
		scn->data.d_buf = NULL;
	} else {
		if (!within(scn->elf, sh->sh_offset, sh->sh_size))
			return fail(E_TRUNCATED);
		scn->data.d_buf = scn->elf->image + sh->sh_offset;
	}
	scn->data.d_size = sh->sh_size;
	scn->data.d_off = 0;
	scn->data.d_align = sh->sh_addralign;
	scn->data.d_version = EV_CURRENT;
	scn->data.d_type = sh->sh_type == SHT_SYMTAB || sh->sh_type == SHT_DYNSYM ? ELF_T_SYM
			   : sh->sh_type == SHT_DYNAMIC				   ? ELF_T_DYN
										   : ELF_T_BYTE;
	return &scn->data;
}

Elf_Data *elf_rawdata(Elf_Scn *scn, Elf_Data *data)
{
	return elf_getdata(scn, data);
}

char *elf_strptr(Elf *elf, size_t index, size_t offset)
{
	const GElf_Shdr *sh;
	const char *start;

	if (!elf || index >= elf->scn_cnt)
		return fail(E_INDEX);
	sh = &elf->scns[index].shdr;
	if (sh->sh_type != SHT_STRTAB || offset >= sh->sh_size ||
	    !within(elf, sh->sh_offset, sh->sh_size))
		return fail(E_NOT_STRTAB);
	start = (const char *)elf->image + sh->sh_offset;
	if (!memchr(start + offset, '\0', sh->sh_size - offset))
		return fail(E_NOT_STRTAB);
	return (char *)start + offset;
}

int elf_getshdrnum(Elf *elf, size_t *dst)
{
	if (!elf || !dst || elf->kind != ELF_K_ELF)
		return fail(E_ARGUMENT), -1;
	*dst = elf->scn_cnt;
	return 0;
}

int elf_getshdrstrndx(Elf *elf, size_t *dst)
{
	size_t index;

	if (!elf || !dst || elf->kind != ELF_K_ELF)
		return fail(E_ARGUMENT), -1;
	index = elf->ehdr.e_shstrndx;
	if (index == SHN_XINDEX) {
		if (!elf->scn_cnt)
			return fail(E_INDEX), -1;
		index = elf->scns[0].shdr.sh_link;
	}
	*dst = index;
	return 0;
}

int elf_getphdrnum(Elf *elf, size_t *dst)
{
	if (!elf || !dst || elf->kind != ELF_K_ELF)
		return fail(E_ARGUMENT), -1;
	*dst = elf->phnum;
	return 0;
}

GElf_Phdr *gelf_getphdr(Elf *elf, int index, GElf_Phdr *dst)
{
	uint64_t off;
	Elf32_Phdr p;

	if (!elf || !dst || elf->kind != ELF_K_ELF)
		return fail(E_ARGUMENT);
	if (index < 0 || (size_t)index >= elf->phnum)
		return fail(E_INDEX);
	off = elf->ehdr.e_phoff + (uint64_t)index * elf->ehdr.e_phentsize;
	if (elf->class == ELFCLASS64) {
		if (elf->ehdr.e_phentsize < sizeof(*dst) || !within(elf, off, sizeof(*dst)))
			return fail(E_TRUNCATED);
		memcpy(dst, elf->image + off, sizeof(*dst));
		return dst;
	}
	if (elf->ehdr.e_phentsize < sizeof(p) || !within(elf, off, sizeof(p)))
		return fail(E_TRUNCATED);
	memcpy(&p, elf->image + off, sizeof(p));
	*dst = (GElf_Phdr){ p.p_type,  p.p_flags, p.p_offset, p.p_vaddr,
			    p.p_paddr, p.p_filesz, p.p_memsz, p.p_align };
	return dst;
}

/* The section whose data `data` is. */
static Elf_Scn *scn_of(Elf_Data *data)
{
	return (Elf_Scn *)((char *)data - offsetof(Elf_Scn, data));
}

/* Entry `index` of a table section's data, whose entries are `size64` or
 * `size32` bytes by the file's class; NULL past its end. */
static const void *entry_at(Elf_Data *data, int index, size_t size64, size_t size32,
			    bool *is64)
{
	size_t size;

	if (!data || index < 0)
		return fail(E_ARGUMENT);
	*is64 = scn_of(data)->elf->class == ELFCLASS64;
	size = *is64 ? size64 : size32;
	if (!data->d_buf || ((size_t)index + 1) * size > data->d_size)
		return fail(E_INDEX);
	return (const char *)data->d_buf + (size_t)index * size;
}

GElf_Sym *gelf_getsym(Elf_Data *data, int index, GElf_Sym *dst)
{
	const void *at;
	Elf32_Sym s;
	bool is64;

	if (!dst)
		return fail(E_ARGUMENT);
	at = entry_at(data, index, sizeof(Elf64_Sym), sizeof(s), &is64);
	if (!at)
		return NULL;
	if (is64) {
		memcpy(dst, at, sizeof(*dst));
		return dst;
	}
	memcpy(&s, at, sizeof(s));
	*dst = (GElf_Sym){ s.st_name, s.st_info, s.st_other, s.st_shndx, s.st_value, s.st_size };
	return dst;
}

GElf_Dyn *gelf_getdyn(Elf_Data *data, int index, GElf_Dyn *dst)
{
	const void *at;
	Elf32_Dyn d;
	bool is64;

	if (!dst)
		return fail(E_ARGUMENT);
	at = entry_at(data, index, sizeof(Elf64_Dyn), sizeof(d), &is64);
	if (!at)
		return NULL;
	if (is64) {
		memcpy(dst, at, sizeof(*dst));
		return dst;
	}
	memcpy(&d, at, sizeof(d));
	dst->d_tag = d.d_tag;
	dst->d_un.d_val = d.d_un.d_val;
	return dst;
}
