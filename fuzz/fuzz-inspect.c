/* guestbox - libFuzzer harness: the daemon's inspection parsers.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The first byte chooses the parser, the rest is guest text: dpkg
 * status, apk installed, pacman desc, an rpm header blob, os-release
 * style shell assignments, version numbers, distro ids, the cleaning
 * of guest strings (UTF-8, control characters, length), and the ELF or
 * PE header of an executable (as a file).
 */

#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "fuzz-file.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct app_list l = { NULL, 0, 0 };
  const char *text;
  char *s;
  unsigned sel;

  if (size < 1)
    return 0;
  sel = data[0];
  text = (const char *) data + 1;
  size--;

  switch (sel % 7) {
  case 0:
    parse_dpkg_status (text, size, &l);
    break;
  case 1:
    parse_apk_installed (text, size, &l);
    break;
  case 2:
    parse_pacman_desc (text, size, &l);
    break;
  case 3:
    parse_rpm_header ((const unsigned char *) text, size, &l);
    break;
  case 4: {
    char key[64], val[1024];
    const char *p = text, *end = text + size;

    while (p < end) {
      const char *nl = memchr (p, '\n', end - p);
      size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);

      parse_shell_assignment (p, len, key, sizeof key, val, sizeof val);
      p += len + 1;
    }
    break;
  }
  case 5:
    s = malloc (size + 1);
    if (s) {
      int major, minor;

      memcpy (s, text, size);
      s[size] = '\0';
      parse_version_numbers (s, &major, &minor);
      linux_distro_of_id (s);
      free (s);
    }
    free (inspect_clean_max (text, size, 256, sel & 0x80));
    break;
  case 6: {
    int fd = open (fuzz_file (data + 1, size), O_RDONLY | O_CLOEXEC);

    if (fd == -1)
      abort ();
    executable_arch (fd, "fuzz");
    close (fd);
    break;
  }
  }
  if (l.n > 0) {
    size_t i;
    for (i = 0; i < l.n; ++i)
      app_size (&l.v[i]);
  }
  app_list_free (&l);
  inspect_warnings_reset ();
  return 0;
}
