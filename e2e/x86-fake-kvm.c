/*
 * A stand-in for x86 KVM, for hosts without /dev/kvm.  LD_PRELOADed into
 * qemu-system-x86_64, it answers the /dev/kvm ioctls that QEMU makes for
 * a pc machine that is stopped (-S) or whose vCPUs only ever exit, as if
 * KVM gave guests an Intel architectural PMU: enough to create the VM
 * and its vCPUs, give them CPUID, install PMU event filters, switch and
 * migrate, never to run a guest instruction.  Register state reads as
 * zeros.  KVM_GET_SUPPORTED_CPUID reports the host's CPUID, with leaf
 * 0xA as FAKE_KVM_PMU_LEAF says.  Filters follow kvm_intel's rules for
 * what it refuses (the tests judge their meaning by the kernel's code).
 *
 *   FAKE_KVM_LOG=path          one line per recorded ioctl, in the format
 *                              of kvm-shim.c:
 *                                "filter <hex bytes of the struct> R"
 *                                "cpuid-0xa <hex bytes of EAX..EDX>"
 *                                "run"  (first KVM_RUN of each vCPU)
 *   FAKE_KVM_PMU_LEAF=a,b,c,d  CPUID leaf 0xA, in hex (default: version
 *                              2, 8 counters, 7 events, 3 fixed counters)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "fake-kvm-fd.h"
#include "kvm-log.h"

#define VCPU_MMAP_SIZE 0x3000
#define TSC_KHZ 2000000
#define MCE_CAP 0x0900010aULL       /* MCG_CTL_P, SER_P, LMCE_P, 10 banks */
#define MAX_FILTER_EVENTS 300

/* Whether each vCPU has entered KVM_RUN, by descriptor */
static int vcpu_ran[MAX_FDS];

static void log_bytes(const char *prefix, const void *buf, size_t len,
                      const char *suffix)
{
    log_hex("FAKE_KVM_LOG", prefix, buf, len, suffix);
}

static int new_vcpu_fd(void)
{
    int fd = new_fd(FD_VCPU);

    if (fd >= 0) {
        vcpu_ran[fd] = 0;
    }
    return fd;
}

static int check_extension(unsigned long cap)
{
    switch (cap) {
    case KVM_CAP_USER_MEMORY:
    case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
    case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
    case KVM_CAP_INTERNAL_ERROR_DATA:
    case KVM_CAP_IOEVENTFD:
    case KVM_CAP_IOEVENTFD_ANY_LENGTH:
    case KVM_CAP_SET_TSS_ADDR:
    case KVM_CAP_EXT_CPUID:
    case KVM_CAP_MP_STATE:
    case KVM_CAP_SIGNAL_MSI:
    case KVM_CAP_DEBUGREGS:
    case KVM_CAP_XSAVE:
    case KVM_CAP_XCRS:
    case KVM_CAP_VCPU_EVENTS:
    case KVM_CAP_X86_ROBUST_SINGLESTEP:
    case KVM_CAP_ADJUST_CLOCK:
    case KVM_CAP_SET_IDENTITY_MAP_ADDR:
    case KVM_CAP_IRQCHIP:
    case KVM_CAP_IRQFD:
    case KVM_CAP_PIT2:
    case KVM_CAP_PIT_STATE2:
    case KVM_CAP_IRQ_INJECT_STATUS:
    case KVM_CAP_IMMEDIATE_EXIT:
    case KVM_CAP_TSC_CONTROL:
    case KVM_CAP_GET_TSC_KHZ:
    case KVM_CAP_PMU_EVENT_FILTER:
    case KVM_CAP_PMU_EVENT_MASKED_EVENTS:
    case KVM_CAP_X86_USER_SPACE_MSR:
    case KVM_CAP_X86_MSR_FILTER:
        return 1;
    case KVM_CAP_NR_MEMSLOTS:
        return 509;
    case KVM_CAP_MCE:
        return 32;                  /* MCE banks */
    case KVM_CAP_IRQ_ROUTING:
        return 4096;
    case KVM_CAP_NR_VCPUS:
    case KVM_CAP_MAX_VCPUS:
    case KVM_CAP_MAX_VCPU_ID:
        return 64;
    default:
        return 0;
    }
}

/* The leaf 0xA to report, from FAKE_KVM_PMU_LEAF */
static void pmu_leaf(uint32_t regs[4])
{
    const char *leaf = getenv("FAKE_KVM_PMU_LEAF");

    if (!leaf || sscanf(leaf, "%x,%x,%x,%x", &regs[0], &regs[1], &regs[2],
                        &regs[3]) != 4) {
        regs[0] = 0x07300802;
        regs[1] = 0;
        regs[2] = 0;
        regs[3] = 0x603;
    }
}

static int add_entry(struct kvm_cpuid2 *cpuid, uint32_t capacity,
                     uint32_t function, uint32_t index, uint32_t flags)
{
    struct kvm_cpuid_entry2 *e;

    if (cpuid->nent >= capacity) {
        return -1;
    }
    e = &cpuid->entries[cpuid->nent++];
    memset(e, 0, sizeof(*e));
    e->function = function;
    e->index = index;
    e->flags = flags;
    __cpuid_count(function, index, e->eax, e->ebx, e->ecx, e->edx);
    if (function == 1) {
        e->ecx |= 1u << 31;                 /* hypervisor */
    } else if (function == 0x80000001) {
        e->ecx |= 1u << 1;                  /* cmp-legacy, as KVM sets it */
    } else if (function == 0xa) {
        uint32_t regs[4];

        pmu_leaf(regs);
        e->eax = regs[0];
        e->ebx = regs[1];
        e->ecx = regs[2];
        e->edx = regs[3];
    }
    return 0;
}

/* Leaves whose subleaves QEMU asks for, and how many it may */
static uint32_t subleaves(uint32_t function)
{
    switch (function) {
    case 4: case 7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12:
    case 0x14: case 0x1d: case 0x1e: case 0x1f: case 0x24:
    case 0x8000001d: case 0x80000020: case 0x80000026:
        return 64;
    default:
        return 0;
    }
}

/* The host's CPUID, leaf 0xA aside, as KVM would report it */
static int supported_cpuid(struct kvm_cpuid2 *cpuid)
{
    uint32_t capacity = cpuid->nent;
    const uint32_t bases[] = { 0, 0x80000000 };

    cpuid->nent = 0;
    for (int b = 0; b < 2; b++) {
        uint32_t max = __get_cpuid_max(bases[b], NULL);

        if (b == 0 && max < 0xa) {
            max = 0xa;
        }
        for (uint32_t f = bases[b]; f <= max; f++) {
            uint32_t n = subleaves(f);

            if (!n) {
                if (add_entry(cpuid, capacity, f, 0, 0)) {
                    return fail(E2BIG);
                }
                continue;
            }
            for (uint32_t i = 0; i < n; i++) {
                if (add_entry(cpuid, capacity, f, i,
                              KVM_CPUID_FLAG_SIGNIFCANT_INDEX)) {
                    return fail(E2BIG);
                }
            }
        }
    }
    return 0;
}

/* What kvm_intel refuses of KVM_SET_PMU_EVENT_FILTER; 0 if it takes it */
static int filter_error(const struct kvm_pmu_event_filter *f)
{
    if (f->action > KVM_PMU_EVENT_DENY ||
        (f->flags & ~KVM_PMU_EVENT_FLAG_MASKED_EVENTS) ||
        f->pad[0] || f->pad[1] || f->pad[2] || f->pad[3]) {
        return EINVAL;
    }
    if (f->nevents > MAX_FILTER_EVENTS) {
        return E2BIG;
    }
    if (f->flags & KVM_PMU_EVENT_FLAG_MASKED_EVENTS) {
        for (uint32_t i = 0; i < f->nevents; i++) {
            /* reserved bits, and event select bits 11:8 */
            if (f->events[i] & 0x007ffff0ffff0000ULL ||
                f->events[i] & 0xf00000000ULL) {
                return EINVAL;
            }
        }
    }
    return 0;
}

static int set_filter(const struct kvm_pmu_event_filter *f)
{
    uint32_t n = f->nevents < 4096 ? f->nevents : 4096;
    int err = filter_error(f);
    char result[16];

    snprintf(result, sizeof(result), " %d", -err);
    log_bytes("filter", f, sizeof(*f) + n * sizeof(f->events[0]), result);
    return err ? fail(err) : 0;
}

static int msr_list(struct kvm_msr_list *list)
{
    list->nmsrs = 0;
    return 0;
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
    case KVM_GET_SUPPORTED_CPUID:
        return supported_cpuid(arg);
    case KVM_GET_MSR_INDEX_LIST:
    case KVM_GET_MSR_FEATURE_INDEX_LIST:
        return msr_list(arg);
    case KVM_X86_GET_MCE_CAP_SUPPORTED:
        *(uint64_t *)arg = MCE_CAP;
        return 0;
    case KVM_GET_MSRS:
        return ((struct kvm_msrs *)arg)->nmsrs;
    default:
        return fail(EINVAL);
    }
}

/* The x86 stand-in makes no device descriptors */
static int device_ioctl(unsigned long req, void *arg)
{
    return fail(ENOTTY);
}


static int vm_ioctl(unsigned long req, void *arg)
{
    switch (req) {
    case KVM_CHECK_EXTENSION:
        return check_extension((unsigned long)arg);
    case KVM_CREATE_VCPU:
        return new_vcpu_fd();
    case KVM_SET_PMU_EVENT_FILTER:
        return set_filter(arg);
    case KVM_GET_TSC_KHZ:
        return TSC_KHZ;
    case KVM_ENABLE_CAP:
        /* MSR accesses that exit to QEMU, which rapl=on asks for */
        return ((struct kvm_enable_cap *)arg)->cap ==
               KVM_CAP_X86_USER_SPACE_MSR ? 0 : fail(EINVAL);
    default:
        return 0;
    }
}

static int vcpu_ioctl(int fd, unsigned long req, void *arg)
{
    switch (req) {
    case KVM_SET_CPUID2:
        log_pmu_leaf("FAKE_KVM_LOG", arg);
        return 0;
    case KVM_GET_TSC_KHZ:
        return TSC_KHZ;
    case KVM_GET_MSRS:
    case KVM_SET_MSRS: {
        struct kvm_msrs *msrs = arg;

        if (req == KVM_GET_MSRS) {
            for (uint32_t i = 0; i < msrs->nmsrs; i++) {
                msrs->entries[i].data = 0;
            }
        }
        return msrs->nmsrs;
    }
    case KVM_RUN:
        if (!vcpu_ran[fd]) {
            vcpu_ran[fd] = 1;
            log_bytes("run", NULL, 0, "");
        }
        /* Nothing to run: exit as if a signal came, without spinning */
        nanosleep(&(struct timespec) { 0, 10 * 1000 * 1000 }, NULL);
        return fail(EINTR);
    case KVM_ENABLE_CAP:
        return fail(EINVAL);
    default:
        /* KVM_GET_* of register state: zeros, which QEMU preset */
        return 0;
    }
}

