#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for CI and for trying `--engine slurm` locally (as root, no systemd).
#   bash scripts/slurm-single-node.sh install   # apt-get install slurm-wlm munge (Debian)
#   bash scripts/slurm-single-node.sh start     # munged, slurmctld, slurmd; waits until the node is idle
#   bash scripts/slurm-single-node.sh stop      # stops the daemons by their pid files
# The recipe follows ../shared/reference/slurm-single-node.md; docs/scale-out.md explains the settings.
set -euo pipefail

conf=/etc/slurm/slurm.conf
pids=(/run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid)

install_packages() {
    if command -v sbatch >/dev/null && command -v munged >/dev/null && command -v slurmctld >/dev/null; then return; fi
    for attempt in 1 2 3 4 5; do
        if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slurm-wlm munge >/dev/null; then return; fi
        echo "slurm-single-node: apt-get failed (attempt $attempt); retrying in 10 s" >&2
        sleep 10
    done
    echo "slurm-single-node: could not install slurm-wlm munge" >&2
    exit 1
}

write_conf() {
    local host cpus memory
    host=$(hostname -s)
    cpus=$(nproc)
    # RealMemory below what the machine has (MiB), so that slurmd does not drain the node.
    memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))
    mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    cat > "$conf" <<CONF
# Written by Bruno's scripts/slurm-single-node.sh: this machine as the only node.
ClusterName=bruno-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
    install_packages
    stop quietly
    write_conf
    mkdir -p /run/munge
    chown munge:munge /run/munge
    [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; }
    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
    su -s /bin/sh munge -c /usr/sbin/munged
    munge -n | unmunge >/dev/null
    # A fresh state: jobs of an earlier start must not come back.
    rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
    /usr/sbin/slurmctld -c
    sleep 1
    /usr/sbin/slurmd
    for _ in $(seq 1 60); do
        if sinfo -h -o %t 2>/dev/null | grep -qE '^idle'; then echo "slurm-single-node: $(sinfo -h -o '%P %a %D %t %N')"; return; fi
        sleep 1
    done
    echo "slurm-single-node: the node did not become idle in 60 s" >&2
    sinfo >&2 || true
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    exit 1
}

stop() {
    local any=0
    for f in "${pids[@]}"; do
        if [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; then any=1; fi
    done
    if [ "$any" = 1 ]; then
        for _ in $(seq 1 20); do
            alive=0
            for f in "${pids[@]}"; do [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
            [ "$alive" = 0 ] && break
            sleep 0.5
        done
    fi
    [ "${1:-}" = quietly ] || echo "slurm-single-node: stopped"
}

case "${1:-}" in
    install) install_packages ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
