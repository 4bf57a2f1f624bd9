// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* elf_image.c - sections, symbols and file offsets of an ELF file (libelf). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/elf_image.h"

struct elf_image {
	int fd;
	Elf *elf;
	size_t shstrndx;
	char *bytes; /* the whole file, read (see elf_image_open) */
};

/* The whole file in a buffer of its own, or NULL. */
static char *read_whole(int fd, size_t *size)
{
	struct stat st;
	size_t done = 0;
	char *buf;

	/* A Go executable or a libssl is some MiB; 1 GiB is a bad file. */
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (1ll << 30))
		return NULL;
	buf = malloc((size_t)st.st_size);
	while (buf && done < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);

		if (n <= 0) {
			free(buf);
			return NULL;
		}
		done += (size_t)n;
	}
	*size = done;
	return buf;
}

int elf_image_open(const char *path, struct elf_image **out)
{
	struct elf_image *img;
	GElf_Ehdr ehdr;
	size_t size = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0) {
		int err = -errno;
		free(img);
		return err;
	}
	/* Read, not mapped: a private read-only mapping of a file that has
	 * uprobes gets their int3 bytes written into it (the kernel's
	 * uprobe_mmap/valid_vma take any VM_MAYEXEC private mapping), so an
	 * executable still probed by an earlier kspan whose links are being
	 * released would not decode. read() sees the page cache unchanged. */
	img->bytes = read_whole(img->fd, &size);
	img->elf = img->bytes ? elf_memory(img->bytes, size) : NULL;
	if (!img->elf || elf_kind(img->elf) != ELF_K_ELF || !gelf_getehdr(img->elf, &ehdr) ||
	    ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_ident[EI_DATA] != ELFDATA2LSB ||
	    elf_getshdrstrndx(img->elf, &img->shstrndx) != 0) {
		elf_image_close(img);
		return -ENOEXEC;
	}
	*out = img;
	return 0;
}

void elf_image_close(struct elf_image *img)
{
	if (!img)
		return;
	if (img->elf)
		elf_end(img->elf);
	if (img->fd >= 0)
		close(img->fd);
	free(img->bytes);
	free(img);
}

unsigned int elf_image_machine(struct elf_image *img)
{
	GElf_Ehdr ehdr;

	return gelf_getehdr(img->elf, &ehdr) ? ehdr.e_machine : EM_NONE;
}

static Elf_Scn *section_named(struct elf_image *img, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(img->elf, scn))) {
		const char *n;
		if (!gelf_getshdr(scn, shdr))
			continue;
		n = elf_strptr(img->elf, img->shstrndx, shdr->sh_name);
		if (n && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

int elf_image_section(struct elf_image *img, const char *name, struct elf_section *out)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = section_named(img, name, &shdr);
	Elf_Data *data;

	if (!scn)
		return -ENOENT;
	out->addr = shdr.sh_addr;
	out->offset = shdr.sh_offset;
	out->size = shdr.sh_size;
	out->data = NULL;
	if (shdr.sh_type != SHT_NOBITS) {
		data = elf_rawdata(scn, NULL);
		if (!data || data->d_size < shdr.sh_size)
			return -ENOENT;
		out->data = data->d_buf;
	}
	return 0;
}

/* A defined function symbol of the symbol table section `table`. */
static int symbol_in(struct elf_image *img, const char *table, const char *name,
		     struct elf_symbol *out)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = section_named(img, table, &shdr);
	Elf_Data *data;
	size_t n;

	if (!scn || shdr.sh_entsize == 0)
		return -ENOENT;
	data = elf_getdata(scn, NULL);
	if (!data)
		return -ENOENT;
	n = shdr.sh_size / shdr.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *s;
		if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		s = elf_strptr(img->elf, shdr.sh_link, sym.st_name);
		if (s && strcmp(s, name) == 0) {
			out->addr = sym.st_value;
			out->size = sym.st_size;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_image_symbol(struct elf_image *img, const char *name, struct elf_symbol *out)
{
	/* A shared library is stripped of .symtab; its exports stay. */
	if (symbol_in(img, ".symtab", name, out) == 0)
		return 0;
	return symbol_in(img, ".dynsym", name, out);
}

/* The PT_LOAD segment whose file contents hold [addr, addr + len). */
static int load_segment(struct elf_image *img, uint64_t addr, uint64_t len, bool exec,
			GElf_Phdr *out)
{
	size_t n;

	if (elf_getphdrnum(img->elf, &n) != 0)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(img->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (exec && !(ph.p_flags & PF_X))
			continue;
		if (addr >= ph.p_vaddr && addr - ph.p_vaddr <= ph.p_filesz &&
		    len <= ph.p_filesz - (addr - ph.p_vaddr)) {
			*out = ph;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_image_file_offset(struct elf_image *img, uint64_t addr, uint64_t *offset)
{
	GElf_Phdr ph;

	if (load_segment(img, addr, 1, true, &ph) != 0)
		return -ENOENT;
	*offset = addr - ph.p_vaddr + ph.p_offset;
	return 0;
}

int elf_image_read(struct elf_image *img, uint64_t addr, void *buf, size_t len)
{
	GElf_Phdr ph;
	size_t file_size;
	const char *raw;

	if (load_segment(img, addr, len, false, &ph) != 0)
		return -ENOENT;
	raw = elf_rawfile(img->elf, &file_size);
	if (!raw || ph.p_offset + (addr - ph.p_vaddr) + len > file_size)
		return -ENOENT;
	memcpy(buf, raw + ph.p_offset + (addr - ph.p_vaddr), len);
	return 0;
}
