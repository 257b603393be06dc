#!/bin/bash -
# guestbox - fleet audits with virt-df: a batch of good and hostile
# images (--each) where each hostile one fails alone, the Prometheus
# textfile (promtool, and a real node-exporter serving it on the
# loopback), JSON Lines, and --shard run by GNU parallel whose union
# is the unsharded run.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 dumpe2fs debugfs qemu-img nbdkit promtool prometheus-node-exporter \
  parallel curl python3 yamllint
make_workdir

# The Kubernetes example of virt-df(1) passes the linter.
yamllint -s "$top_srcdir/contrib/kubernetes/virt-df-cronjob.yaml" ||
  fail "yamllint contrib/kubernetes/virt-df-cronjob.yaml"
grep -q -- '--shard "$((JOB_COMPLETION_INDEX + 1))/4"' \
  "$top_srcdir/contrib/kubernetes/virt-df-cronjob.yaml" || fail "no --shard in the manifest"
ok "yamllint: the Kubernetes Indexed Job manifest"
VIRT_DF=$top_builddir/df/virt-df
cd "$T"

# Three good guests (whole-disk ext4 of different sizes) and five
# hostile images: missing, a directory, a qcow2 naming a backing file
# (a file of this directory), a qcow2 that qemu refuses (cluster size
# 2^5, found only when the appliance attaches it), and an NBD export
# whose reads of the journal's first block never finish (its mount
# hangs).
make_linux_tree tree fleet
ext4_image good1.img 16 tree
ext4_image good2.img 24 tree
ext4_image good3.img 20 tree
mkdir adir
qemu-img create -q -f qcow2 -b good1.img -F raw backing.qcow2
qemu-img create -q -f qcow2 refused.qcow2 64M
printf '\000\000\000\005' | dd of=refused.qcow2 bs=1 seek=20 conv=notrunc status=none
cp good3.img hang.img
# The journal's first block: read by a mount, not by the probing of the
# disks (libblkid reads the start and the end of a disk).
lo=$(debugfs -R "bmap <8> 0" hang.img 2>/dev/null)
bs=$(dumpe2fs -h hang.img 2>/dev/null | sed -n 's/^Block size: *//p')
[ "$lo" -gt 0 ] || fail "no journal in hang.img"
cat > hang.sh <<EOF
case "\$1" in
  get_size) stat -c %s $T/hang.img ;;
  thread_model) echo parallel ;;
  can_write) exit 3 ;;
  pread)
    if [ \$4 -lt $(( lo * bs + 4096 )) ] && [ \$((\$4 + \$3)) -gt $((lo * bs)) ]; then
      sleep 100
    fi
    dd if=$T/hang.img skip=\$4 count=\$3 iflag=skip_bytes,count_bytes status=none ;;
  *) exit 2 ;;
esac
EOF
chmod +x hang.sh
setsid nbdkit -f -r -U "$T/nbd.sock" sh "$T/hang.sh" </dev/null >nbd.log 2>&1 &
nbd_pid=$!
cleanup_fn "kill -- -$nbd_pid"
for i in $(seq 50); do [ -S nbd.sock ] && break; sleep 0.1; done
hang="nbd+unix:///?socket=$T/nbd.sock"

# The line virt-df -i --csv prints for a whole-disk ext4 image.
inode_csv () {                  # NAME IMAGE
  local total free
  total=$(dumpe2fs -h "$2" 2>/dev/null | sed -n 's/^Inode count: *//p')
  free=$(dumpe2fs -h "$2" 2>/dev/null | sed -n 's/^Free inodes: *//p')
  awk -v n="$1" -v t="$total" -v f="$free" 'BEGIN {
    printf "%s,/dev/sda,%d,%d,%d,%.1f\n", n, t, t - f, f, 100 - 100 * f / t }'
}

# 1. The batch: three good images reported, five errors, exit 1.
# The appliance of the batch fails twice: qemu refuses refused.qcow2,
# then the df call hangs on the NBD export.  Each time the guest the
# failure points at is examined alone and the others together again,
# so -x shows three appliances that got disks (disks_ready): the four
# disks left after refused.qcow2, the NBD export alone, and the three
# good images.  (The timeout leaves a loaded host time to list the
# disks before the first mount.)
mkdir prom
rc=0
GBOX_CALL_TIMEOUT=20 "$VIRT_DF" -x --each -i --csv --prometheus prom/guestbox.prom \
  good1.img missing.img adir good2.img refused.qcow2 backing.qcow2 "$hang" good3.img \
  > out 2> trace || rc=$?
grep -v '^virt-df: trace: ' trace > err || true
expect_eq "--each: the appliances of the batch (disks each, df call)" \
"disks_ready 4 34000 df df = error
disks_ready 1 31000 df df = error
disks_ready 3 33000 df df = ok" \
  "$(sed -n 's/^virt-df: trace: \(disks_ready [0-9]* [0-9]*$\|df$\|df = [a-z]*\).*/\1/p' trace |
     paste -sd' ' | sed 's/ disks_ready/\ndisks_ready/g')"
expect_eq "--each: the good images, in order" "VirtualMachine,Filesystem,Inodes,IUsed,IFree,IUse%
$(inode_csv good1.img good1.img)
$(inode_csv good2.img good2.img)
$(inode_csv good3.img good3.img)" "$(cat out)"
expect_eq "--each: exit status 1" 1 "$rc"
# One line each, naming the image, saying why.
expect_eq "--each: one error line per hostile image, in order" \
"virt-df: error: missing.img: No such file or directory
virt-df: error: adir: is a directory, not a disk image
virt-df: error: refused.qcow2: cannot open the disk
virt-df: error: backing.qcow2: the image (probed as qcow2) refers to another file
virt-df: error: nbd.sock: df: the daemon did not answer within 20 s" \
  "$(sed -e 's/\(refused.qcow2: cannot open the disk\).*/\1/' \
         -e 's/\(refers to another file\).*/\1/' err)"
check_no_qemu

# 2. The Prometheus textfile: valid for promtool, one size per good
# guest, guestbox_guest_error 1 for each hostile one.
[ ! -e prom/guestbox.prom.tmp* ] || fail "temporary file left: $(ls prom)"
promtool check metrics < prom/guestbox.prom || fail "promtool check metrics"
ok "promtool check metrics accepts the file"
size1=$(dumpe2fs -h good1.img 2>/dev/null | awk -F: '
  /^Block count/ { c = $2 } /^Block size/ { s = $2 } END { print c * s }')
grep -qx "guestbox_filesystem_size_bytes{guest=\"good1.img\",device=\"/dev/sda\",fstype=\"ext4\"} [0-9]*" \
  prom/guestbox.prom || fail "no size metric for good1.img: $(cat prom/guestbox.prom)"
expect_eq "metrics: errors" "5 3" \
  "$(grep -c '^guestbox_guest_error{.*} 1$' prom/guestbox.prom) $(grep -c '^guestbox_guest_error{.*} 0$' prom/guestbox.prom)"

# A real node-exporter on the loopback serves them.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prometheus-node-exporter --web.listen-address="127.0.0.1:$port" \
  --collector.disable-defaults --collector.textfile \
  --collector.textfile.directory="$T/prom" >exporter.log 2>&1 &
exporter_pid=$!
cleanup_fn "kill $exporter_pid"
for i in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/metrics" > metrics 2>/dev/null && break
  sleep 0.2
done
kill "$exporter_pid"; wait "$exporter_pid" 2>/dev/null || true
grep -q '^guestbox_filesystem_size_bytes{device="/dev/sda",fstype="ext4",guest="good3.img"} ' metrics ||
  fail "node-exporter does not serve the guest metrics: $(grep guestbox metrics | head)"
grep -q '^node_textfile_scrape_error 0$' metrics ||
  fail "node-exporter could not read the file: $(cat exporter.log)"
expect_eq "node-exporter serves each good guest's size" 3 \
  "$(grep -c '^guestbox_filesystem_size_bytes{' metrics)"
# The exporter reads the bytes virt-df computed: statvfs of ext4 gives
# the whole filesystem less its overhead, never more than the image.
v=$(sed -n 's/^guestbox_filesystem_size_bytes{.*guest="good1.img"} \(.*\)$/\1/p' metrics)
python3 -c "import sys; v = float('$v'); sys.exit(not (0.8 * $size1 < v <= $size1))" ||
  fail "size of good1.img: $v, image filesystem $size1"
ok "size of good1.img through node-exporter: $v of $size1 bytes"

# 3. JSON Lines: one object per filesystem or failed image, numbers as
# numbers; its inode figures are those of the CSV.
"$VIRT_DF" --json --each good1.img good2.img missing.img good3.img > all.json || true
python3 - all.json <<'EOF' || fail "JSON Lines"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["guest"] for r in recs] == ["good1.img", "good2.img", "missing.img", "good3.img"], recs
assert recs[2]["image"] == "missing.img" and "No such file" in recs[2]["error"], recs[2]
for r in recs[:2] + recs[3:]:
    for k in ("block_size", "blocks", "blocks_free", "blocks_available",
              "size_bytes", "used_bytes", "available_bytes", "inodes",
              "inodes_used", "inodes_free"):
        assert type(r[k]) is int and r[k] >= 0, (k, r)
    assert type(r["use_percent"]) in (int, float)
    assert r["filesystem"] == "/dev/sda" and r["type"] == "ext4", r
    assert r["size_bytes"] == r["blocks"] * r["block_size"], r
    assert r["inodes_used"] + r["inodes_free"] == r["inodes"], r
EOF
for g in good1 good2 good3; do
  want=$(inode_csv $g.img $g.img | cut -d, -f3-5)
  got=$(python3 -c "import json
for l in open('all.json'):
    r = json.loads(l)
    if r['guest'] == '$g.img': print('%d,%d,%d' % (r['inodes'], r['inodes_used'], r['inodes_free']))")
  expect_eq "--json inodes of $g.img" "$want" "$got"
done

# 4. --shard I/3 by GNU parallel: every image in exactly one shard,
# the union equal to the unsharded run.
parallel -k "$VIRT_DF" --json --each --shard {}/3 good1.img good2.img missing.img good3.img \
  ::: 1 2 3 > shards.json 2> shards.err || true
expect_eq "union of the shards = the unsharded run" \
  "$(sort all.json)" "$(sort shards.json)"
check_no_qemu

# 5. virt-inspector --each shares the isolation: the appliance stops
# answering while the NBD export is inspected (its mount hangs); that
# image is inspected again alone and fails, and the image after it
# gets its report from another appliance.
rc=0
GBOX_CALL_TIMEOUT=10 "$top_builddir/inspect/virt-inspector" --json \
  --no-applications --no-icon --each good1.img "$hang" good2.img \
  > inspect.json 2> inspect.err || rc=$?
expect_eq "virt-inspector --each: exit status" 1 "$rc"
expect_eq "virt-inspector --each: a report for each good image, in order" \
"good1.img fleet
$hang error
good2.img fleet" \
  "$(python3 -c "import json, sys
for l in open('inspect.json'):
    r = json.loads(l)
    print(r['image'], 'error' if 'error' in r else r['operatingsystems'][0]['hostname'])")"
expect_eq "virt-inspector --each: one error line, for the NBD export" 1 \
  "$(grep -c '^virt-inspector: error: .*nbd.sock' inspect.err)"
check_no_qemu
