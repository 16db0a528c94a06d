/*
 * x86 KVM PMU event filter: KVM_SET_PMU_EVENT_FILTER
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/cutils.h"
#include "hw/core/cpu.h"
#include "migration/vmstate.h"
#include "system/kvm_int.h"
#include "cpu.h"
#include "host-cpu.h"
#include "kvm_i386.h"
#include "tdx.h"
#include "pmu-filter.h"
#include "trace.h"

/* Events that Intel's fixed counters count, by counter index */
static const struct {
    uint8_t select;
    uint8_t umask;
    const char *name;
} fixed_counter_events[] = {
    { 0xc0, 0x00, "instructions retired" },
    { 0x3c, 0x00, "core cycles" },
};

/*
 * KVM filters general-purpose and fixed counters separately, so a
 * filter that lists instructions retired but not fixed counter 0
 * leaves the guest a second way to count them (deny), or breaks
 * software that counts them on the fixed counter (allow).  Only the
 * @nr_fixed counters that KVM gives guests matter.
 */
static void warn_fixed_counter_mismatch(const char *id,
                                        const struct kvm_pmu_event_filter *kf,
                                        unsigned int nr_fixed)
{
    const char *verb = kf->action == KVM_PMU_EVENT_ALLOW ? "allows" : "denies";

    for (int i = 0; i < ARRAY_SIZE(fixed_counter_events) && i < nr_fixed;
         i++) {
        if (kvm_x86_pmu_filter_lists(kf, fixed_counter_events[i].select,
                                     fixed_counter_events[i].umask) &&
            !(kf->fixed_counter_bitmap & BIT(i))) {
            warn_report("PMU event filter '%s' %s event 0x%02x (%s) but not "
                        "fixed counter %d, which counts the same event",
                        id, verb, fixed_counter_events[i].select,
                        fixed_counter_events[i].name, i);
        }
    }
}

/* @filter as KVM_SET_PMU_EVENT_FILTER takes it */
static struct kvm_pmu_event_filter *encode_filter(KVMPMUFilter *filter)
{
    const KVMPMUEvent *events;
    uint32_t nevents;

    events = kvm_pmu_filter_get_events(filter, &nevents);
    return kvm_x86_pmu_filter_encode(
        kvm_pmu_filter_get_action(filter), events, nevents,
        kvm_pmu_filter_get_x86_fixed_counter_bitmap(filter));
}

/* Whether KVM gives guests a PMU at all (its enable_pmu parameter) */
static bool kvm_x86_guests_have_pmu(KVMState *s)
{
    if (kvm_check_extension(s, KVM_CAP_PMU_CAPABILITY)) {
        return true;
    }
    if (is_host_cpu_intel()) {
        return kvm_arch_get_supported_cpuid(s, 0xa, 0, R_EAX) & 0xff;
    }
    return kvm_arch_get_supported_cpuid(s, 0x80000001, 0, R_ECX) &
           CPUID_EXT3_PERFCORE;
}

static void trace_filter(KVMState *s, const char *id,
                         const struct kvm_pmu_event_filter *kf)
{
    trace_kvm_x86_pmu_filter_install(id, kf->action == KVM_PMU_EVENT_ALLOW ?
                                     "allow" : "deny", kf->flags, kf->nevents,
                                     kf->fixed_counter_bitmap);
    for (uint32_t i = 0; i < kf->nevents; i++) {
        trace_kvm_x86_pmu_filter_event(i, kf->events[i]);
    }
    if (!trace_event_get_state_backends(TRACE_KVM_X86_PMU_FILTER_NO_PMU)) {
        return;
    }
    if (!kvm_x86_guests_have_pmu(s)) {
        trace_kvm_x86_pmu_filter_no_pmu(id, "KVM gives guests no PMU");
    } else if (first_cpu && !X86_CPU(first_cpu)->enable_pmu) {
        trace_kvm_x86_pmu_filter_no_pmu(id, "the guest CPU has pmu=off");
    }
}

static unsigned int select_bits_of_vendor(void)
{
    char vendor[CPUID_VENDOR_SZ + 1];

    host_cpu_vendor_fms(vendor, NULL, NULL, NULL);
    if (g_str_equal(vendor, CPUID_VENDOR_AMD) ||
        g_str_equal(vendor, CPUID_VENDOR_HYGON)) {
        return KVM_X86_PMU_SELECT_BITS_AMD;
    }
    return KVM_X86_PMU_SELECT_BITS_INTEL;
}

/*
 * How many event select bits KVM compares.  That is up to the KVM
 * module (kvm_intel: 8, kvm_amd: 12), not to the CPU vendor, which a
 * nested or paravirtualized host need not match.  Where KVM has masked
 * entries, it fails those with select bits it does not compare with
 * EINVAL, so ask it with an entry of select 0x1c4; any other error
 * fails the install.  The probe is a deny-list whose only entry
 * excludes events, which lists no event and so lets every event count,
 * as without a filter.  It is made once, before the first filter is
 * installed, when the VM has no filter; if that install then fails,
 * the VM keeps the probe, which filters nothing.
 */
static bool kvm_x86_pmu_select_bits(KVMState *s, unsigned int *bits,
                                    Error **errp)
{
    g_autofree struct kvm_pmu_event_filter *probe = NULL;
    int ret;

    if (!s->pmu_filter_select_bits &&
        kvm_vm_check_extension(s, KVM_CAP_PMU_EVENT_MASKED_EVENTS) <= 0) {
        s->pmu_filter_select_bits = select_bits_of_vendor();
    }
    if (s->pmu_filter_select_bits) {
        *bits = s->pmu_filter_select_bits;
        return true;
    }
    probe = g_malloc0(sizeof(*probe) + sizeof(probe->events[0]));
    probe->action = KVM_PMU_EVENT_DENY;
    probe->flags = KVM_PMU_EVENT_FLAG_MASKED_EVENTS;
    probe->nevents = 1;
    probe->events[0] = KVM_PMU_ENCODE_MASKED_ENTRY(0x1c4, 0xff, 0, 1);
    ret = kvm_vm_ioctl(s, KVM_SET_PMU_EVENT_FILTER, probe);
    if (ret && ret != -EINVAL) {
        error_setg_errno(errp, -ret, "cannot find out how many event select "
                         "bits KVM compares");
        return false;
    }
    s->pmu_filter_select_bits = ret ? KVM_X86_PMU_SELECT_BITS_INTEL
                                    : KVM_X86_PMU_SELECT_BITS_AMD;
    trace_kvm_x86_pmu_filter_select_bits(s->pmu_filter_select_bits, ret);
    *bits = s->pmu_filter_select_bits;
    return true;
}

static bool kvm_x86_pmu_filter_supported(KVMState *s, bool masked,
                                         Error **errp)
{
    ERRP_GUARD();

    if (is_tdx_vm()) {
        error_setg(errp, "KVM does not filter the PMU events of TDX guests");
        error_append_hint(errp, "The TDX module, not KVM, gives TDX guests "
                          "their PMU.\n");
        return false;
    }
    if (kvm_vm_check_extension(s, KVM_CAP_PMU_EVENT_FILTER) <= 0) {
        error_setg(errp, "KVM does not support PMU event filters");
        return false;
    }
    if (masked &&
        kvm_vm_check_extension(s, KVM_CAP_PMU_EVENT_MASKED_EVENTS) <= 0) {
        error_setg(errp, "KVM does not support x86-masked-entry events");
        return false;
    }
    return true;
}

/*
 * Filters that almost certainly do not do what their writer meant.
 * KVM gives guests no fixed counters on AMD hosts, and none when it
 * gives guests no PMU: a fixed-counter bitmap then is most likely
 * meant for another host.
 */
static void warn_likely_mistakes(KVMState *s, const char *id,
                                 const struct kvm_pmu_event_filter *kf)
{
    unsigned int nr_fixed = kvm_arch_get_supported_cpuid(s, 0xa, 0, R_EDX) &
                            0x1f;

    if (kf->action == KVM_PMU_EVENT_ALLOW &&
        kvm_x86_pmu_filter_only_excludes(kf)) {
        warn_report("PMU event filter '%s' allows no general-purpose event: "
                    "its entries only exclude events", id);
    }
    if (kf->fixed_counter_bitmap && !nr_fixed) {
        warn_report("PMU event filter '%s' lists fixed counters (bitmap "
                    "0x%x), but KVM gives guests no fixed counters on this "
                    "host", id, kf->fixed_counter_bitmap);
    }
    warn_fixed_counter_mismatch(id, kf, nr_fixed);
}

/*
 * Without a fixed-counter bitmap in CPUID, the guest can only be told
 * of fixed counters 0 to N, so those above a denied one are hidden
 * even where the filter allows them.
 */
static void warn_hidden_fixed_counters(const char *id,
                                       const struct kvm_pmu_event_filter *kf,
                                       const X86PMULeaf *kvm,
                                       const X86PMULeaf *guest)
{
    uint32_t hidden = kvm_x86_pmu_leaf_fixed_counters(kvm) &
                      ~kvm_x86_pmu_leaf_fixed_counters(guest) &
                      kvm_x86_pmu_filter_fixed_counters(kf);

    if (hidden) {
        warn_report("PMU event filter '%s' denies fixed counter %u, so CPUID "
                    "cannot tell the guest of the ones above it that the "
                    "filter allows (bitmap 0x%x)", id, guest->edx & 0x1f,
                    hidden);
    }
}

/* The architectural event that each fixed counter counts: its EBX bit */
static const unsigned int fixed_counter_events_bit[] = { 1, 0, 2, 7 };

/*
 * EBX says which events the guest may count, not on which counters: an
 * event that the filter denies on general-purpose counters is marked
 * unavailable, and the guest's perf then does not count it on the fixed
 * counter that the filter allows either.
 */
static void warn_unused_fixed_counters(const char *id,
                                       const struct kvm_pmu_event_filter *kf,
                                       const X86PMULeaf *kvm,
                                       const X86PMULeaf *guest)
{
    uint32_t offered = kvm_x86_pmu_leaf_fixed_counters(guest) &
                       kvm_x86_pmu_filter_fixed_counters(kf);
    uint32_t unused = 0;

    for (int i = 0; i < ARRAY_SIZE(fixed_counter_events_bit); i++) {
        if ((offered & BIT(i)) &&
            (guest->ebx & ~kvm->ebx & BIT(fixed_counter_events_bit[i]))) {
            unused |= BIT(i);
        }
    }
    if (unused) {
        warn_report("PMU event filter '%s' allows fixed counters (bitmap "
                    "0x%x) whose events it denies on general-purpose "
                    "counters, so CPUID marks those events unavailable",
                    id, unused);
    }
}

/* @leaf, KVM's, as the PMU event filter of @s leaves it */
static void hide_filtered(KVMState *s, X86PMULeaf *leaf)
{
    g_autofree struct kvm_pmu_event_filter *kf = encode_filter(s->pmu_filter);
    const char *id = kvm_pmu_filter_get_id(s->pmu_filter);
    const X86PMULeaf kvm = *leaf;

    kvm_x86_pmu_filter_hide(kf, leaf);
    warn_hidden_fixed_counters(id, kf, &kvm, leaf);
    warn_unused_fixed_counters(id, kf, &kvm, leaf);
    trace_kvm_x86_pmu_filter_cpuid(id, leaf->ebx, leaf->ecx, leaf->edx);
}

/*
 * CPUID leaf 0xA of the vCPUs: as KVM reports it, but for a VM with a
 * PMU event filter and pmu-filter-cpuid=on, without the architectural
 * events and the fixed counters that the filter denies, so that the
 * guest does not count them in vain.  KVM reports no architectural PMU
 * on AMD hosts, which enumerate no events in CPUID.  The leaf follows
 * the filter that the VM has when its first vCPU is created, if any;
 * every vCPU, including those plugged in later, gets the same, since a
 * vCPU's CPUID cannot change once it has run.  Both leaves are kept.
 */
void kvm_x86_pmu_filter_cpuid(uint32_t *eax, uint32_t *ebx, uint32_t *ecx,
                              uint32_t *edx)
{
    KVMState *s = kvm_state;
    X86PMULeaf leaf = { *eax, *ebx, *ecx, *edx };
    X86PMULeaves *leaves = s->pmu_filter_leaves;

    if (!(leaf.eax & 0xff) || is_tdx_vm()) {
        return;
    }
    if (!leaves) {
        leaves = s->pmu_filter_leaves = g_new0(X86PMULeaves, 1);
        leaves->kvm = leaf;
        if (s->pmu_filter && s->pmu_filter_cpuid) {
            hide_filtered(s, &leaf);
        }
        leaves->vcpus = leaf;
    }
    *eax = leaves->vcpus.eax;
    *ebx = leaves->vcpus.ebx;
    *ecx = leaves->vcpus.ecx;
    *edx = leaves->vcpus.edx;
}

/*
 * A filter switched in while vCPUs exist leaves their CPUID as it is:
 * say so when the filter would have given them another leaf 0xA.
 */
static void warn_cpuid_kept(KVMState *s, const char *id,
                            const struct kvm_pmu_event_filter *kf)
{
    const X86PMULeaves *leaves = s->pmu_filter_leaves;
    const X86PMULeaf *kept;
    X86PMULeaf leaf;

    if (!leaves || !s->pmu_filter_cpuid) {
        return;
    }
    kept = &leaves->vcpus;
    leaf = leaves->kvm;
    kvm_x86_pmu_filter_hide(kf, &leaf);
    if (leaf.ebx != kept->ebx || leaf.ecx != kept->ecx ||
        leaf.edx != kept->edx) {
        warn_report("vCPUs keep CPUID leaf 0xA as they started with (EBX "
                    "0x%x, ECX 0x%x, EDX 0x%x); PMU event filter '%s' "
                    "would give them EBX 0x%x, ECX 0x%x, EDX 0x%x",
                    kept->ebx, kept->ecx, kept->edx, id, leaf.ebx, leaf.ecx,
                    leaf.edx);
    }
}

/* Check and encode @filter, then hand it to KVM with one ioctl */
bool kvm_arch_pmu_filter_install(KVMState *s, KVMPMUFilter *filter,
                                 Error **errp)
{
    ERRP_GUARD();
    const char *id = kvm_pmu_filter_get_id(filter);
    g_autofree struct kvm_pmu_event_filter *kf = encode_filter(filter);
    const KVMPMUEvent *events;
    uint32_t nevents;
    unsigned int select_bits;
    int ret;

    events = kvm_pmu_filter_get_events(filter, &nevents);
    if (!kvm_x86_pmu_filter_supported(s, kf->flags, errp)) {
        return false;
    }
    if (!kvm_x86_pmu_select_bits(s, &select_bits, errp) ||
        !kvm_x86_pmu_filter_check(events, nevents, select_bits, errp)) {
        error_prepend(errp, "PMU event filter '%s': ", id);
        return false;
    }
    trace_filter(s, id, kf);
    ret = kvm_vm_ioctl(s, KVM_SET_PMU_EVENT_FILTER, kf);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "KVM refused PMU event filter '%s'", id);
        return false;
    }
    warn_likely_mistakes(s, id, kf);
    warn_cpuid_kept(s, id, kf);
    return true;
}

/*
 * Migration: a VM with a filter sends a digest of the filter as KVM has
 * it (action, flags, fixed-counter bitmap and events), and the
 * destination refuses the migration unless it has installed a filter
 * with the same digest.  A VM without a filter sends nothing, so it
 * migrates as it always did.  The ID is sent only for error messages,
 * in a buffer of fixed size, so that nothing in the stream decides
 * how much QEMU allocates; what the stream holds is printed escaped.
 */

/* The digest of the filter installed in @s; false if there is none */
static bool installed_digest(KVMState *s, KVMPMUFilterDigest *d)
{
    g_autofree struct kvm_pmu_event_filter *kf = NULL;
    g_autoptr(GChecksum) sha = g_checksum_new(G_CHECKSUM_SHA256);
    gsize len = sizeof(d->digest);

    if (!s->pmu_filter) {
        return false;
    }
    kf = encode_filter(s->pmu_filter);
    g_checksum_update(sha, (const guchar *)kf,
                      sizeof(*kf) + kf->nevents * sizeof(kf->events[0]));
    g_checksum_get_digest(sha, d->digest, &len);
    pstrcpy((char *)d->id, sizeof(d->id),
            kvm_pmu_filter_get_id(s->pmu_filter));
    return true;
}

static KVMState *digest_owner(void *opaque)
{
    return container_of(opaque, KVMState, pmu_filter_migration);
}

static bool pmu_filter_needed(void *opaque)
{
    return digest_owner(opaque)->pmu_filter;
}

static bool pmu_filter_pre_save(void *opaque, Error **errp)
{
    if (!installed_digest(digest_owner(opaque), opaque)) {
        error_setg(errp, "no PMU event filter to migrate");
        return false;
    }
    return true;
}

static bool pmu_filter_pre_load(void *opaque, Error **errp)
{
    memset(opaque, 0, sizeof(KVMPMUFilterDigest));
    return true;
}

static bool pmu_filter_post_load(void *opaque, int version_id, Error **errp)
{
    KVMPMUFilterDigest *incoming = opaque;
    KVMPMUFilterDigest here = { };
    g_autofree char *source = NULL;
    bool same;

    if (!memchr(incoming->id, 0, sizeof(incoming->id))) {
        error_setg(errp, "PMU event filter ID of the migration source is "
                   "not a string");
        return false;
    }
    source = g_strescape((const char *)incoming->id, NULL);
    if (!installed_digest(digest_owner(opaque), &here)) {
        error_setg(errp, "the migration source has PMU event filter '%s', "
                   "this destination has none", source);
        return false;
    }
    same = !memcmp(here.digest, incoming->digest, sizeof(here.digest));
    trace_kvm_x86_pmu_filter_migrated(source, (const char *)here.id, same);
    if (!same) {
        error_setg(errp, "PMU event filter '%s' of the migration source "
                   "differs from filter '%s' of this destination",
                   source, (const char *)here.id);
    }
    return same;
}

static const VMStateDescription vmstate_kvm_pmu_filter = {
    .name = "kvm-pmu-filter",
    .version_id = 1,
    .minimum_version_id = 1,
    /* Sent first, so that a mismatch stops the migration at once */
    .early_setup = true,
    .needed = pmu_filter_needed,
    .pre_save_errp = pmu_filter_pre_save,
    .pre_load_errp = pmu_filter_pre_load,
    .post_load_errp = pmu_filter_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(digest, KVMPMUFilterDigest,
                            KVM_PMU_FILTER_DIGEST_LEN),
        VMSTATE_BUFFER(id, KVMPMUFilterDigest),
        VMSTATE_END_OF_LIST()
    }
};

/*
 * Called at the end of a successful kvm_arch_init(), after which KVM
 * cannot fail any more, so the section belongs to the KVM state in use.
 */
void kvm_x86_pmu_filter_migration_init(KVMState *s)
{
    vmstate_register(NULL, 0, &vmstate_kvm_pmu_filter,
                     &s->pmu_filter_migration);
}

/*
 * Migration of CPUID leaf 0xA: the guest must not see it change, and
 * the state of its counters must fit the counters it has.  With a
 * filter, each vCPU's state carries the vCPU's leaf (subsection
 * "cpu/pmu_filter_leaf"), and the destination refuses another.  State
 * without it comes from a VM without a filter, whose vCPUs had the leaf
 * that KVM reports: it is refused where a filter hides part of that
 * leaf, since KVM would refuse the counter state of the fixed counters
 * that the leaf no longer offers.
 */

/* @cpu's leaf 0xA, zeros if it has no architectural PMU */
static void vcpu_leaf(X86CPU *cpu, uint32_t regs[4])
{
    const X86PMULeaves *leaves = kvm_state->pmu_filter_leaves;
    const X86PMULeaf none = { };
    const X86PMULeaf *leaf = leaves && cpu->enable_pmu ? &leaves->vcpus
                                                       : &none;

    regs[0] = leaf->eax;
    regs[1] = leaf->ebx;
    regs[2] = leaf->ecx;
    regs[3] = leaf->edx;
}

bool kvm_x86_pmu_filter_leaf_needed(void)
{
    return kvm_state->pmu_filter;
}

void kvm_x86_pmu_filter_leaf_pre_save(X86CPU *cpu)
{
    vcpu_leaf(cpu, cpu->pmu_filter_leaf);
}

bool kvm_x86_pmu_filter_leaf_post_load(X86CPU *cpu, Error **errp)
{
    const uint32_t *source = cpu->pmu_filter_leaf;
    uint32_t here[4];

    vcpu_leaf(cpu, here);
    if (memcmp(here, source, sizeof(here))) {
        error_setg(errp, "CPUID leaf 0xA of the migration source's vCPUs "
                   "(EAX 0x%x, EBX 0x%x, ECX 0x%x, EDX 0x%x) differs from "
                   "this destination's (EAX 0x%x, EBX 0x%x, ECX 0x%x, "
                   "EDX 0x%x)", source[0], source[1], source[2], source[3],
                   here[0], here[1], here[2], here[3]);
        return false;
    }
    cpu->pmu_filter_leaf_loaded = true;
    return true;
}

/* Whether the state of @cpu that was just loaded fits its leaf */
bool kvm_x86_pmu_filter_leaf_loaded(X86CPU *cpu)
{
    const X86PMULeaves *leaves = kvm_state->pmu_filter_leaves;

    if (cpu->pmu_filter_leaf_loaded || !leaves || !cpu->enable_pmu ||
        !memcmp(&leaves->kvm, &leaves->vcpus, sizeof(leaves->kvm))) {
        return true;
    }
    error_report("the migration source has no PMU event filter, so its "
                 "vCPUs have CPUID leaf 0xA as KVM reports it, part of "
                 "which the PMU event filter of this VM hides");
    return false;
}
