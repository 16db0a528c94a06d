/*
 * LD_PRELOAD shim for the end-to-end tests: records the argument of
 * every KVM_SET_PMU_EVENT_FILTER and every KVM_RUN, and can hide KVM
 * capabilities or make the kernel refuse the filter.
 *
 *   KVM_SHIM_LOG=path        append one line per recorded ioctl:
 *                              "filter <hex bytes of the whole struct> R"
 *                                with R the kernel's return code (0 or
 *                                minus errno), or "injected" where the
 *                                shim failed the call itself
 *                              "run"  (first KVM_RUN of each thread)
 *   KVM_SHIM_HIDE_CAPS=a,b   KVM_CHECK_EXTENSION answers 0 for these
 *   KVM_SHIM_FILTER_ERRNO=n  KVM_SET_PMU_EVENT_FILTER fails with errno n
 *   KVM_SHIM_FILTER_FAIL_CALL=k  ... only its k-th call (from 1) fails
 *   KVM_SHIM_TIMES=path      append the nanoseconds that each
 *                              KVM_SET_PMU_EVENT_FILTER took in the kernel
 *   KVM_SHIM_SELECT_BITS=12  answer as a KVM that compares 12 event select
 *                              bits (kvm_amd) on a host whose KVM compares
 *                              8: a filter that uses select bits 11:8, as
 *                              QEMU's select-width probe does, succeeds
 *                              without reaching the kernel, which would
 *                              drop or refuse those bits; it is logged
 *                              with R "emulated"
 *   KVM_SHIM_PMU_LEAF=a,b,c,d  KVM_GET_SUPPORTED_CPUID reports CPUID leaf
 *                              0xA as these four hex values (EAX to EDX),
 *                              as on a host whose KVM gives guests an
 *                              Intel architectural PMU; KVM_SET_MSRS and
 *                              KVM_GET_MSRS then leave out the Intel PMU
 *                              MSRs that QEMU programs for such a PMU,
 *                              which a KVM without one refuses (reads
 *                              give 0)
 *   with KVM_SHIM_LOG, every KVM_SET_CPUID2 logs its leaf 0xA:
 *                              "cpuid-0xa <hex bytes of EAX..EDX>"
 *                                (zeros where QEMU leaves the leaf out)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/kvm.h>
#include "kvm-log.h"

/* Beyond KVM's own limit of 300, so that QEMU's own limit is tested */
#define MAX_LOGGED_EVENTS 4096

static __thread int thread_ran;

static void log_line(const char *prefix, const void *buf, size_t len,
                     const char *suffix)
{
    log_hex("KVM_SHIM_LOG", prefix, buf, len, suffix);
}

static int cap_hidden(unsigned long cap)
{
    const char *list = getenv("KVM_SHIM_HIDE_CAPS");
    char *end;

    while (list && *list) {
        if (strtoul(list, &end, 10) == cap) {
            return 1;
        }
        list = *end ? end + 1 : end;
    }
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void log_time(int64_t ns)
{
    const char *path = getenv("KVM_SHIM_TIMES");
    FILE *f;

    if (path && (f = fopen(path, "a"))) {
        fprintf(f, "%lld\n", (long long)ns);
        fclose(f);
    }
}

/* Whether to answer this filter as a 12-bit KVM instead of the kernel */
static int emulate_wide_selects(const struct kvm_pmu_event_filter *f)
{
    const char *bits = getenv("KVM_SHIM_SELECT_BITS");

    if (!bits || atoi(bits) != 12) {
        return 0;
    }
    for (uint32_t i = 0; i < f->nevents; i++) {
        if (f->events[i] & 0xf00000000ULL) {
            return 1;
        }
    }
    return 0;
}

/* Whether to fail this KVM_SET_PMU_EVENT_FILTER call */
static int fail_filter_call(void)
{
    static int calls;
    const char *nth = getenv("KVM_SHIM_FILTER_FAIL_CALL");

    calls++;
    return getenv("KVM_SHIM_FILTER_ERRNO") &&
           (!nth || atoi(nth) == calls);
}

/* The leaf 0xA of KVM_SHIM_PMU_LEAF in @regs; 0 if it is not set */
static int fake_pmu_leaf(uint32_t regs[4])
{
    const char *leaf = getenv("KVM_SHIM_PMU_LEAF");

    return leaf && sscanf(leaf, "%x,%x,%x,%x", &regs[0], &regs[1], &regs[2],
                          &regs[3]) == 4;
}

static void report_pmu_leaf(struct kvm_cpuid2 *cpuid, uint32_t capacity)
{
    struct kvm_cpuid_entry2 *e = NULL;
    uint32_t regs[4];

    if (!fake_pmu_leaf(regs)) {
        return;
    }
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        if (cpuid->entries[i].function == 0xa) {
            e = &cpuid->entries[i];
        }
    }
    if (!e && cpuid->nent < capacity) {
        e = &cpuid->entries[cpuid->nent++];
        memset(e, 0, sizeof(*e));
        e->function = 0xa;
    }
    if (e) {
        e->eax = regs[0];
        e->ebx = regs[1];
        e->ecx = regs[2];
        e->edx = regs[3];
    }
}

/* The MSRs of Intel's architectural PMU that QEMU saves and restores */
static int intel_pmu_msr(uint32_t index)
{
    return (index >= 0xc1 && index <= 0xc8) ||         /* PMC0-7 */
           (index >= 0x186 && index <= 0x18d) ||       /* PERFEVTSEL0-7 */
           (index >= 0x309 && index <= 0x30f) ||       /* FIXED_CTR0-6 */
           (index >= 0x38d && index <= 0x390) ||       /* FIXED_CTR_CTRL, */
                                                       /* GLOBAL_* */
           (index >= 0x4c1 && index <= 0x4c8);         /* A_PMC0-7 */
}

/*
 * KVM_SET_MSRS or KVM_GET_MSRS of @msrs without the Intel PMU MSRs, as
 * if KVM had taken them: returns how many entries of @msrs succeeded,
 * counting the MSRs left out, which read as 0
 */
static int msrs_without_intel_pmu(int (*real_ioctl)(int, unsigned long,
                                                    void *),
                                  int fd, unsigned long request,
                                  struct kvm_msrs *msrs)
{
    uint32_t n = msrs->nmsrs, kept = 0;
    struct kvm_msrs *sub = calloc(1, sizeof(*sub) +
                                  n * sizeof(sub->entries[0]));
    uint32_t *where = calloc(n + 1, sizeof(*where));
    int ret;

    for (uint32_t i = 0; i < n; i++) {
        if (!intel_pmu_msr(msrs->entries[i].index)) {
            where[kept] = i;
            sub->entries[kept++] = msrs->entries[i];
        } else if (request == KVM_GET_MSRS) {
            msrs->entries[i].data = 0;
        }
    }
    sub->nmsrs = kept;
    ret = kept ? real_ioctl(fd, request, sub) : 0;
    if (ret >= 0) {
        if (request == KVM_GET_MSRS) {
            for (int i = 0; i < ret; i++) {
                msrs->entries[where[i]].data = sub->entries[i].data;
            }
        }
        ret = (uint32_t)ret == kept ? (int)n : (int)where[ret];
    }
    free(where);
    free(sub);
    return ret;
}

int ioctl(int fd, unsigned long request, ...)
{
    static int (*real_ioctl)(int, unsigned long, void *);
    va_list ap;
    void *arg;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!real_ioctl) {
        real_ioctl = (int (*)(int, unsigned long, void *))
                     dlsym(RTLD_NEXT, "ioctl");
    }

    if (request == KVM_CHECK_EXTENSION && cap_hidden((unsigned long)arg)) {
        return 0;
    }
    if (request == KVM_SET_PMU_EVENT_FILTER) {
        const struct kvm_pmu_event_filter *f = arg;
        uint32_t n = f->nevents < MAX_LOGGED_EVENTS ? f->nevents
                                                     : MAX_LOGGED_EVENTS;
        size_t len = sizeof(*f) + n * sizeof(f->events[0]);
        char result[16];
        int64_t start;
        int ret, err;

        if (fail_filter_call()) {
            log_line("filter", f, len, " injected");
            errno = atoi(getenv("KVM_SHIM_FILTER_ERRNO"));
            return -1;
        }
        if (emulate_wide_selects(f)) {
            log_line("filter", f, len, " emulated");
            return 0;
        }
        start = now_ns();
        ret = real_ioctl(fd, request, arg);
        err = errno;
        log_time(now_ns() - start);
        snprintf(result, sizeof(result), " %d", ret < 0 ? -err : ret);
        log_line("filter", f, len, result);
        errno = err;
        return ret;
    }
    if (request == KVM_GET_SUPPORTED_CPUID) {
        struct kvm_cpuid2 *cpuid = arg;
        uint32_t capacity = cpuid->nent;
        int ret = real_ioctl(fd, request, arg);

        if (ret == 0) {
            report_pmu_leaf(cpuid, capacity);
        }
        return ret;
    }
    if (request == KVM_SET_CPUID2) {
        log_pmu_leaf("KVM_SHIM_LOG", arg);
    }
    if ((request == KVM_SET_MSRS || request == KVM_GET_MSRS) &&
        getenv("KVM_SHIM_PMU_LEAF")) {
        return msrs_without_intel_pmu(real_ioctl, fd, request, arg);
    }
    if (request == KVM_RUN && !thread_ran) {
        thread_ran = 1;
        log_line("run", NULL, 0, "");
    }
    return real_ioctl(fd, request, arg);
}
