/*
 * CPUID leaf 0xA as QEMU gives it to the vCPUs of a VM with a PMU event
 * filter: QEMU's own kvm_x86_pmu_filter_hide(), linked from the patched
 * build, for the end-to-end tests to judge by Linux's code on any host,
 * also one whose KVM gives guests no Intel PMU.
 *
 * Reads lines "EAX,EBX,ECX,EDX HEX", the leaf as KVM reports it and the
 * bytes of a KVM_SET_PMU_EVENT_FILTER argument, and answers each with
 * "EAX EBX ECX EDX" in hex, or "error" for bytes that are no filter.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "target/i386/kvm/pmu-filter.h"

static struct kvm_pmu_event_filter *parse_filter(const char *hex)
{
    size_t len = strlen(hex) / 2;
    g_autofree uint8_t *bytes = g_malloc0(len + sizeof(uint64_t));
    struct kvm_pmu_event_filter *kf = (struct kvm_pmu_event_filter *)bytes;

    if (strlen(hex) % 2 || len < sizeof(*kf)) {
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (sscanf(hex + 2 * i, "%2hhx", &bytes[i]) != 1) {
            return NULL;
        }
    }
    if (len != sizeof(*kf) + (size_t)kf->nevents * sizeof(kf->events[0])) {
        return NULL;
    }
    return (struct kvm_pmu_event_filter *)g_steal_pointer(&bytes);
}

int main(void)
{
    char line[16384], hex[16384];
    X86PMULeaf leaf;

    while (fgets(line, sizeof(line), stdin)) {
        g_autofree struct kvm_pmu_event_filter *kf = NULL;

        if (sscanf(line, "%x,%x,%x,%x %16383s", &leaf.eax, &leaf.ebx,
                   &leaf.ecx, &leaf.edx, hex) != 5 ||
            !(kf = parse_filter(hex))) {
            printf("error\n");
        } else {
            kvm_x86_pmu_filter_hide(kf, &leaf);
            printf("%x %x %x %x\n", leaf.eax, leaf.ebx, leaf.ecx, leaf.edx);
        }
        fflush(stdout);
    }
    return 0;
}
