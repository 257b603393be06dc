# guestbox - fuzz/fuzz.mk: libFuzzer harnesses (clang), built and run
# by hand or through "make fuzz" / the fuzz smoke test.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
#   make -C fuzz -f fuzz.mk               build every harness
#   make -C fuzz -f fuzz.mk run FUZZ_TIME=300
#                                         run each for FUZZ_TIME seconds
#   make -C fuzz -f fuzz.mk run-reply     one harness
#
# Each harness compiles the code it tests with coverage and sanitizers
# (ASan, UBSan) and links the rest from the project's libraries, which
# must be built first (make at the top).  Findings (crash-*, leak-*,
# timeout-*) land in fuzz/findings/NAME/; the growing corpus in
# fuzz/corpus/NAME/, seeded from fuzz/seeds/NAME/ (make-seeds.py; the
# registry hives of seeds/hive/ are made with tests/mkhive and
# hivexregedit; seeds/NAME.dict, when written, is a libFuzzer
# dictionary).  The inputs of fixed findings are seeds too.

top = ..
CC = clang
FUZZ_TIME = 5
FUZZ_FLAGS = -timeout=10 -rss_limit_mb=2048 -max_len=65536
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS = -g -O1 -fno-omit-frame-pointer $(SAN) -fsanitize=fuzzer-no-link
CPPFLAGS = -I$(top) -I$(top)/common -I$(top)/daemon -I$(top)/appliance \
	-I/usr/include/tirpc -I/usr/include/blkid
LDFLAGS = $(SAN) -fsanitize=fuzzer

# The link line of a folder's own programs (read from its Makefile, so
# that new dependencies follow), with its paths made relative to here.
ldadd = $(shell MAKEFLAGS= $(MAKE) -s -C $(top)/$(1) --no-print-directory \
	  --eval 'fuzz-print-libs: ; @echo $$($(2)) $$(LIBS)' fuzz-print-libs | \
	  tr ' ' '\n' | sed -e '/^-/!s|^|$(top)/$(1)/|' | tr '\n' ' ') -pthread
LIBCOMMON := $(call ldadd,common,test_ldadd)
LIBDAEMON := $(call ldadd,daemon,guestboxd_LDADD)
LIBAPP := $(call ldadd,appliance,guestbox_make_appliance_LDADD)

HARNESSES = reply request fstab inspect elf kernel cpio hive hostile

# NAME: harness, the project sources compiled with coverage, libraries.
reply_SRCS = $(top)/common/proto.c $(top)/common/actions.c \
	$(top)/common/protocol.c
reply_LIBS = $(LIBCOMMON)
hostile_SRCS = $(top)/common/proto.c $(top)/common/actions.c \
	$(top)/common/protocol.c $(top)/resize/plan.c
hostile_LIBS = $(LIBCOMMON)
request_SRCS = $(top)/daemon/proto.c $(top)/common/protocol.c
request_LIBS = $(LIBDAEMON)
fstab_SRCS = $(top)/daemon/fstab.c
fstab_LIBS = $(LIBDAEMON)
inspect_SRCS = $(top)/daemon/inspect-apps.c $(top)/daemon/inspect-linux.c \
	$(top)/daemon/inspect-full.c $(top)/daemon/inspect-rpm.c \
	$(top)/daemon/inspect-arch.c
inspect_LIBS = $(LIBDAEMON)
elf_SRCS = $(top)/appliance/elfdeps.c
elf_LIBS = $(LIBAPP)
kernel_SRCS = $(top)/appliance/kernel.c $(top)/appliance/decompress.c
kernel_LIBS = $(LIBAPP)
cpio_SRCS = $(top)/appliance/cpio.c
cpio_LIBS = $(LIBAPP)
hive_SRCS = $(top)/daemon/inspect-windows.c $(top)/daemon/inspect-full.c
hive_LIBS = $(LIBDAEMON)

all: $(HARNESSES:%=fuzz-%)

define harness
fuzz-$(1): fuzz-$(1).c fuzz-file.h $$($(1)_SRCS)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) -w -o $$@ fuzz-$(1).c $$($(1)_SRCS) \
	  $$(LDFLAGS) $$($(1)_LIBS)
run-$(1): fuzz-$(1) seeds/.stamp
	@mkdir -p corpus/$(1) findings/$(1) seeds/$(1)
	./fuzz-$(1) $$(FUZZ_FLAGS) -max_total_time=$$(FUZZ_TIME) \
	  $$(if $$(wildcard seeds/$(1).dict),-dict=seeds/$(1).dict) \
	  -artifact_prefix=findings/$(1)/ -print_final_stats=1 \
	  corpus/$(1) seeds/$(1)
endef
$(foreach h,$(HARNESSES),$(eval $(call harness,$(h))))

run: $(HARNESSES:%=run-%)

# The hive seeds need tests/mkhive (a check program of tests/).
MKHIVE = $(top)/tests/mkhive
$(MKHIVE): $(top)/tests/mkhive.c
	$(MAKE) -C $(dir $@) $(notdir $@)

seeds/.stamp: make-seeds.py $(MKHIVE)
	python3 make-seeds.py --mkhive $(MKHIVE) seeds
	touch $@

print-libs:
	@echo 'common: $(LIBCOMMON)'; echo 'daemon: $(LIBDAEMON)'; echo 'appliance: $(LIBAPP)'

clean:
	rm -f $(HARNESSES:%=fuzz-%)
	rm -rf corpus seeds

.PHONY: all run clean $(HARNESSES:%=run-%)
