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

/* Beyond KVM's own limit of 300, so that QEMU's own limit is tested */
#define MAX_LOGGED_EVENTS 4096

static __thread int thread_ran;

static void log_line(const char *prefix, const void *buf, size_t len,
                     const char *suffix)
{
    const char *path = getenv("KVM_SHIM_LOG");
    const uint8_t *bytes = buf;
    FILE *f;

    if (!path || !*path || !(f = fopen(path, "a"))) {
        return;
    }
    fputs(prefix, f);
    for (size_t i = 0; i < len; i++) {
        fprintf(f, "%s%02x", i ? "" : " ", bytes[i]);
    }
    fprintf(f, "%s\n", suffix);
    fclose(f);
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
    if (request == KVM_RUN && !thread_ran) {
        thread_ran = 1;
        log_line("run", NULL, 0, "");
    }
    return real_ioctl(fd, request, arg);
}
