/*
 * Logging of the ioctls that the end-to-end tests check, shared by
 * kvm-shim.c and x86-fake-kvm.c: one line per record, a word, the
 * bytes of the argument in hex, and what follows.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef KVM_LOG_H
#define KVM_LOG_H

/* Append "PREFIX <hex of @buf>SUFFIX" to the file that $@env names */
static void log_hex(const char *env, const char *prefix, const void *buf,
                    size_t len, const char *suffix)
{
    const char *path = getenv(env);
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

/* "cpuid-0xa <EAX..EDX>" of a KVM_SET_CPUID2; zeros if it has no leaf */
static void log_pmu_leaf(const char *env, const struct kvm_cpuid2 *cpuid)
{
    uint32_t regs[4] = { 0, 0, 0, 0 };

    for (uint32_t i = 0; i < cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (e->function == 0xa && e->index == 0) {
            regs[0] = e->eax;
            regs[1] = e->ebx;
            regs[2] = e->ecx;
            regs[3] = e->edx;
        }
    }
    log_hex(env, "cpuid-0xa", regs, sizeof(regs), "");
}

#endif
