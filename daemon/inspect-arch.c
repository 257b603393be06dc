/* guestbox - the architecture of a guest's binaries, from their headers.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Inspection names a guest's architecture after one of its own
 * executables (/bin/ls, ... on Linux; cmd.exe, explorer.exe on
 * Windows).  The answer needs two fields of the executable's header, so
 * they are read here by hand instead of through libmagic: libmagic's
 * first file type after an appliance is restored from its snapshot costs
 * about 20 ms of emulated CPU, on every inspection.
 *
 * ELF: "\x7fELF", the class (32/64-bit) and byte order at 4 and 5, the
 * type (relocatable, executable or shared object, as libguestfs
 * requires) at 16 and the machine at 18, both in the file's byte order.
 *
 * PE: "MZ", the offset of the PE header (e_lfanew, at 0x3c), "PE\0\0"
 * there, then the COFF header's machine and the optional header's magic
 * (24 bytes after the signature).  libguestfs 1.48 names a Windows
 * guest after what libmagic prints for that magic: "PE32 executable" is
 * i386 and "PE32+ executable" is x86_64, whatever the machine (an ARM64
 * cmd.exe, PE32+, is x86_64 there), and so does this code; the machine
 * only goes to the debug log.
 *
 * Every read is bounded: the file is opened only when it is a regular
 * file inside the guest tree, at most 64 bytes are read at its start
 * and 26 at the PE header's offset (any offset past the end, or above
 * 2^31 - 1 as libmagic reads it, is no answer).
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "daemon.h"
#include "blockdev.h"

/* ELF e_machine values (elf.h; EM_LOONGARCH is missing from older
 * glibc headers, so the numbers are spelt out). */
static const struct {
  uint16_t machine;
  const char *arch32, *arch64;          /* by EI_CLASS */
} elf_machines[] = {
  { 2, "sparc", "sparc" },              /* EM_SPARC */
  { 3, "i386", "i386" },                /* EM_386 */
  { 6, "i386", "i386" },                /* EM_486 */
  { 8, "mips", "mips64" },              /* EM_MIPS */
  { 10, "mips", "mips64" },             /* EM_MIPS_RS3_LE */
  { 18, "sparc", "sparc" },             /* EM_SPARC32PLUS */
  { 20, "ppc", "ppc" },                 /* EM_PPC */
  { 22, "s390", "s390x" },              /* EM_S390 */
  { 40, "arm", "arm" },                 /* EM_ARM */
  { 41, "alpha", "alpha" },             /* EM_ALPHA (standard number) */
  { 43, "sparc64", "sparc64" },         /* EM_SPARCV9 */
  { 50, "ia64", "ia64" },               /* EM_IA_64 */
  { 62, "x86_64", "x86_64" },           /* EM_X86_64 (x32 too) */
  { 183, "aarch64", "aarch64" },        /* EM_AARCH64 */
  { 243, "riscv32", "riscv64" },        /* EM_RISCV */
  { 258, "loongarch32", "loongarch64" }, /* EM_LOONGARCH */
  { 0x9026, "alpha", "alpha" },         /* EM_ALPHA */
};

#define EM_PPC64 21

#define PE_OPT_MAGIC_PE32 0x10b
#define PE_OPT_MAGIC_PE32PLUS 0x20b

static uint16_t
get16 (const unsigned char *p, bool big_endian)
{
  return big_endian ? (uint16_t) (p[0] << 8 | p[1])
                    : (uint16_t) (p[1] << 8 | p[0]);
}

static uint32_t
get_le32 (const unsigned char *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 |
    (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static const char *
elf_arch (const char *what, const unsigned char *h, size_t n)
{
  bool is64, big_endian;
  uint16_t type, machine;
  size_t i;

  /* e_ident (16 bytes), e_type, e_machine. */
  if (n < 20 || (h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2))
    return NULL;
  is64 = h[4] == 2;
  big_endian = h[5] == 2;
  type = get16 (h + 16, big_endian);
  machine = get16 (h + 18, big_endian);
  debug ("inspect: %s: ELF %d-bit %s, type %u, machine %u", what,
         is64 ? 64 : 32, big_endian ? "MSB" : "LSB", (unsigned) type,
         (unsigned) machine);
  if (type < 1 || type > 3)             /* ET_REL, ET_EXEC, ET_DYN */
    return NULL;
  if (machine == EM_PPC64)
    return big_endian ? "ppc64" : "ppc64le";
  for (i = 0; i < sizeof elf_machines / sizeof elf_machines[0]; ++i)
    if (elf_machines[i].machine == machine)
      return is64 ? elf_machines[i].arch64 : elf_machines[i].arch32;
  return NULL;
}

static const char *
pe_arch (const char *what, int fd, const unsigned char *h, size_t n)
{
  unsigned char pe[26];
  uint32_t lfanew;
  uint16_t magic;

  if (n < 0x40)
    return NULL;
  lfanew = get_le32 (h + 0x3c);
  /* libmagic reads e_lfanew as a signed 32-bit offset. */
  if (lfanew > INT32_MAX)
    return NULL;
  if (read_at (fd, pe, sizeof pe, lfanew) == -1 ||
      memcmp (pe, "PE\0\0", 4) != 0)
    return NULL;
  magic = get16 (pe + 24, false);
  debug ("inspect: %s: PE at %#x, machine %#x, optional header magic %#x",
         what, (unsigned) lfanew, (unsigned) get16 (pe + 4, false), (unsigned) magic);
  if (magic == PE_OPT_MAGIC_PE32)
    return "i386";
  if (magic == PE_OPT_MAGIC_PE32PLUS)
    return "x86_64";
  return NULL;
}

const char *
executable_arch (int fd, const char *what)
{
  unsigned char h[64];
  ssize_t n;

  /* A regular file: short only at its end. */
  do
    n = pread (fd, h, sizeof h, 0);
  while (n == -1 && errno == EINTR);

  if (n < 4)
    return NULL;
  if (memcmp (h, "\x7f" "ELF", 4) == 0)
    return elf_arch (what, h, (size_t) n);
  if (h[0] == 'M' && h[1] == 'Z')
    return pe_arch (what, fd, h, (size_t) n);
  return NULL;
}

char *
inspect_binary_arch (int rootfd, const char *const *paths)
{
  size_t i;

  for (i = 0; paths[i]; ++i) {
    CLEANUP_CLOSE int pfd = -1;
    CLEANUP_CLOSE int fd = -1;
    struct stat st;
    char proc[64];
    const char *arch;

    /* Only regular files (a guest fifo or device must not be read):
     * the type is checked on an O_PATH descriptor, which the file is
     * then opened through. */
    pfd = open_in_root (rootfd, paths[i], O_PATH, 0);
    if (pfd == -1 || fstat (pfd, &st) == -1 || !S_ISREG (st.st_mode))
      continue;
    snprintf (proc, sizeof proc, "/proc/self/fd/%d", pfd);
    fd = open (proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1)
      continue;
    arch = executable_arch (fd, paths[i]);
    if (arch)
      return strdup (arch);
  }
  return NULL;
}
