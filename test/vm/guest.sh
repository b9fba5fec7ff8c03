#!/bin/bash
# test/vm/guest.sh CTL MODE — runs in the guest (copied into the run's control folder CTL by
# test/vm/run.sh). MODE cmd: PID 1 after the initramfs, so it first mounts what a booted system
# has (devpts, /dev/shm, /run, cgroup2; init.sh mounted /tmp). MODE systemd: started by
# vm-run.service.
# Runs CTL/cmd.sh, writes its exit status to CTL/rc, then (cmd mode) reboots, which ends qemu.
ctl=$1
mode=$2
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

if [[ $mode == cmd ]]; then
    mkdir -p /dev/pts /dev/shm
    # What udev would add to devtmpfs: bash's process substitution opens /dev/fd/N.
    ln -sfn /proc/self/fd /dev/fd
    ln -sf /proc/self/fd/0 /dev/stdin
    ln -sf /proc/self/fd/1 /dev/stdout
    ln -sf /proc/self/fd/2 /dev/stderr
    mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
    mount -t tmpfs -o mode=1777 tmpfs /dev/shm
    mount -t tmpfs -o mode=0755 tmpfs /run
    mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
    hostname vm
    ip link set lo up
    stty -F /dev/console -onlcr 2>/dev/null
    exec </dev/null >/dev/console 2>&1
fi

bash "$ctl/cmd.sh"
rc=$?
echo "$rc" >"$ctl/rc.tmp" && mv "$ctl/rc.tmp" "$ctl/rc"
sync
if [[ $mode == cmd ]]; then
    /bin/busybox reboot -f
    echo b >/proc/sysrq-trigger
fi
exit "$rc"
