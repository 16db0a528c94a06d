/*
 * A stand-in for arm64 KVM, for running the cross-built
 * qemu-system-aarch64 under qemu-user on a host that is not arm64.
 * LD_PRELOADed into the arm64 process, it answers the /dev/kvm ioctls
 * that QEMU makes up to a stopped (-S) virt machine: enough to create
 * the VM, its vCPUs, their PMUs and a GICv3, never to run a guest.
 * It enforces the rules of the PMU filter attribute that the tests
 * are about (Linux's arch/arm64/kvm/pmu-emul.c) and logs the filter:
 *
 *   FAKE_KVM_LOG=path      one line per PMU attribute a vCPU is given:
 *                            "filter <vcpu> <base> <nevents> <action>"
 *                            "pmu-init <vcpu>"
 *                            "run <vcpu>"  (the first KVM_RUN)
 *   FAKE_KVM_PMUVER=n      PMUVer of ID_AA64DFR0_EL1 (default 4, v8.1)
 *   FAKE_KVM_NO_FILTER=1   the kernel predates the filter attribute
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stddef.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "fake-kvm-fd.h"

#define VCPU_MMAP_SIZE 0x4000


/* The state of each vCPU, by descriptor */
static struct {
    int vcpu_id;
    int has_pmu;
    int pmu_created;
} fds[MAX_FDS];

static int vm_ran_once;

static void log_line(const char *fmt, ...)
{
    const char *path = getenv("FAKE_KVM_LOG");
    va_list ap;
    FILE *f;

    if (!path || !(f = fopen(path, "a"))) {
        return;
    }
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static int new_vcpu_fd(int vcpu_id)
{
    int fd = new_fd(FD_VCPU);

    if (fd >= 0) {
        fds[fd].vcpu_id = vcpu_id;
        fds[fd].has_pmu = 0;
        fds[fd].pmu_created = 0;
    }
    return fd;
}

static long check_extension(unsigned long cap)
{
    switch (cap) {
    case KVM_CAP_USER_MEMORY:
    case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
    case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
    case KVM_CAP_INTERNAL_ERROR_DATA:
    case KVM_CAP_ARM_PMU_V3:
    case KVM_CAP_DEVICE_CTRL:
    case KVM_CAP_ONE_REG:
    case KVM_CAP_ARM_PSCI_0_2:
    case KVM_CAP_IRQFD:
    case KVM_CAP_SIGNAL_MSI:
    case KVM_CAP_MP_STATE:
    case KVM_CAP_IMMEDIATE_EXIT:
    case KVM_CAP_IOEVENTFD:
    case KVM_CAP_IOEVENTFD_ANY_LENGTH:
    case KVM_CAP_SET_GUEST_DEBUG:
    case KVM_CAP_IRQCHIP:
        return 1;
    case KVM_CAP_NR_MEMSLOTS:
        return 512;
    case KVM_CAP_IRQ_ROUTING:
        return 4096;
    case KVM_CAP_NR_VCPUS:
    case KVM_CAP_MAX_VCPUS:
        return 8;
    case KVM_CAP_ARM_VM_IPA_SIZE:
        return 40;
    default:
        return 0;
    }
}

/* ID registers that QEMU reads to learn the host CPU */
static uint64_t one_reg_value(uint64_t id)
{
    switch (id) {
    case ARM64_SYS_REG(3, 0, 0, 4, 0):      /* ID_AA64PFR0_EL1 */
        return 0x11;                        /* EL0, EL1: AArch64 */
    case ARM64_SYS_REG(3, 0, 0, 5, 0): {    /* ID_AA64DFR0_EL1 */
        const char *v = getenv("FAKE_KVM_PMUVER");

        return (v ? strtoull(v, NULL, 0) : 4) << 8 | 0x6;
    }
    case ARM64_SYS_REG(3, 0, 0, 0, 0):      /* MIDR_EL1 */
        return 0x410fd0c0;
    default:
        return 0;
    }
}

static int pmu_filter(int fd, const struct kvm_device_attr *attr)
{
    const struct kvm_pmu_event_filter *f = (const void *)attr->addr;

    if ((uint32_t)f->base_event + f->nevents > 0x10000 || f->action > 1) {
        return fail(EINVAL);
    }
    if (vm_ran_once) {
        return fail(EBUSY);
    }
    log_line("filter %d 0x%x %u %u", fds[fd].vcpu_id, f->base_event,
             f->nevents, f->action);
    return 0;
}

static int vcpu_pmu_attr(int fd, unsigned long req,
                         const struct kvm_device_attr *attr)
{
    int has_filter = !getenv("FAKE_KVM_NO_FILTER");

    if (!fds[fd].has_pmu) {
        return fail(ENODEV);
    }
    switch (attr->attr) {
    case KVM_ARM_VCPU_PMU_V3_IRQ:
    case KVM_ARM_VCPU_PMU_V3_INIT:
        break;
    case KVM_ARM_VCPU_PMU_V3_FILTER:
        if (has_filter) {
            break;
        }
        /* fall through */
    default:
        return fail(ENXIO);
    }
    if (req == KVM_HAS_DEVICE_ATTR) {
        return 0;
    }
    if (fds[fd].pmu_created) {
        return fail(EBUSY);
    }
    if (attr->attr == KVM_ARM_VCPU_PMU_V3_FILTER) {
        return pmu_filter(fd, attr);
    }
    if (attr->attr == KVM_ARM_VCPU_PMU_V3_INIT) {
        fds[fd].pmu_created = 1;
        log_line("pmu-init %d", fds[fd].vcpu_id);
    }
    return 0;
}

static int vcpu_ioctl(int fd, unsigned long req, void *arg)
{
    switch (req) {
    case KVM_ARM_VCPU_INIT: {
        const struct kvm_vcpu_init *init = arg;

        fds[fd].has_pmu = !!(init->features[0] & (1u << KVM_ARM_VCPU_PMU_V3));
        return 0;
    }
    case KVM_GET_REG_LIST: {
        struct kvm_reg_list *list = arg;

        /* One core register, which QEMU syncs by itself */
        if (list->n < 1) {
            list->n = 1;
            return fail(E2BIG);
        }
        list->n = 1;
        list->reg[0] = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
                       KVM_REG_ARM_CORE_REG(regs.pc);
        return 0;
    }
    case KVM_GET_ONE_REG: {
        const struct kvm_one_reg *reg = arg;
        size_t size = 1u << ((reg->id & KVM_REG_SIZE_MASK) >>
                             KVM_REG_SIZE_SHIFT);
        uint64_t value = one_reg_value(reg->id);

        memset((void *)reg->addr, 0, size);
        memcpy((void *)reg->addr, &value, size < 8 ? size : 8);
        return 0;
    }
    case KVM_HAS_DEVICE_ATTR:
    case KVM_SET_DEVICE_ATTR: {
        const struct kvm_device_attr *attr = arg;

        if (attr->group == KVM_ARM_VCPU_PMU_V3_CTRL) {
            return vcpu_pmu_attr(fd, req, attr);
        }
        return fail(ENXIO);
    }
    case KVM_RUN:
        if (!vm_ran_once) {
            log_line("run %d", fds[fd].vcpu_id);
        }
        vm_ran_once = 1;
        return fail(EINTR);
    default:
        return 0;
    }
}

/* The GICv3: all its registers read as zero, but for its size */
static int device_ioctl(unsigned long req, void *arg)
{
    const struct kvm_device_attr *attr = arg;

    if (req == KVM_GET_DEVICE_ATTR &&
        attr->group == KVM_DEV_ARM_VGIC_GRP_DIST_REGS &&
        attr->attr == 0x4) {                /* GICD_TYPER */
        *(uint32_t *)attr->addr = 0x1f;     /* 1024 interrupts */
    }
    return 0;
}

static int vm_ioctl(unsigned long req, void *arg)
{
    switch (req) {
    case KVM_CHECK_EXTENSION:
        return check_extension((unsigned long)arg);
    case KVM_CREATE_VCPU:
        return new_vcpu_fd((int)(unsigned long)arg);
    case KVM_ARM_PREFERRED_TARGET: {
        struct kvm_vcpu_init *init = arg;

        memset(init, 0, sizeof(*init));
        init->target = KVM_ARM_TARGET_GENERIC_V8;
        return 0;
    }
    case KVM_CREATE_DEVICE: {
        struct kvm_create_device *dev = arg;

        if (dev->type != KVM_DEV_TYPE_ARM_VGIC_V3 &&
            dev->type != KVM_DEV_TYPE_ARM_VGIC_ITS) {
            return fail(ENODEV);
        }
        if (!(dev->flags & KVM_CREATE_DEVICE_TEST)) {
            dev->fd = new_fd(FD_DEVICE);
        }
        return 0;
    }
    default:
        return 0;
    }
}

static int kvm_ioctl(unsigned long req, void *arg)
{
    switch (req) {
    case KVM_GET_API_VERSION:
        return KVM_API_VERSION;
    case KVM_CHECK_EXTENSION:
        return check_extension((unsigned long)arg);
    case KVM_CREATE_VM:
        return new_fd(FD_VM);
    case KVM_GET_VCPU_MMAP_SIZE:
        return VCPU_MMAP_SIZE;
    default:
        return fail(EINVAL);
    }
}

