/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * elf_image.h - the few things the uprobe attachers read from an executable
 * or library on disk (libelf): sections by name, symbols of .symtab, and the
 * file offset of a virtual address, which is what a uprobe is attached at.
 */
#ifndef KSPAN_ELF_IMAGE_H
#define KSPAN_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct elf_image;

struct elf_section {
	uint64_t addr;	     /* sh_addr */
	uint64_t offset;     /* sh_offset */
	uint64_t size;	     /* sh_size */
	const uint8_t *data; /* size bytes (NULL for SHT_NOBITS) */
};

struct elf_symbol {
	uint64_t addr; /* st_value */
	uint64_t size; /* st_size */
};

/* Opens `path` read-only. 0 and *out, or a negative errno (-ENOEXEC: not a
 * 64-bit little-endian ELF file). */
int elf_image_open(const char *path, struct elf_image **out);
void elf_image_close(struct elf_image *img);
/* e_machine (EM_X86_64, EM_AARCH64, ...). */
unsigned int elf_image_machine(struct elf_image *img);

/* 0 and *out when the section exists, -ENOENT otherwise. */
int elf_image_section(struct elf_image *img, const char *name, struct elf_section *out);
/* A function defined in the file, by exact name, from .symtab, else from
 * .dynsym (a stripped library's exports): 0, -ENOENT (no such symbol). */
int elf_image_symbol(struct elf_image *img, const char *name, struct elf_symbol *out);
/* The file offset of virtual address `addr` in an executable PT_LOAD
 * segment: 0 and *offset, or -ENOENT. */
int elf_image_file_offset(struct elf_image *img, uint64_t addr, uint64_t *offset);
/* Copies `len` bytes at virtual address `addr` (inside one PT_LOAD segment's
 * file contents) into buf: 0 or -ENOENT. */
int elf_image_read(struct elf_image *img, uint64_t addr, void *buf, size_t len);

#endif /* KSPAN_ELF_IMAGE_H */
