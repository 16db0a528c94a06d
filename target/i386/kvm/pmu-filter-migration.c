/*
 * x86 KVM PMU event filter: migration
 *
 * A VM with a PMU event filter sends a digest of the filter as KVM has
 * it (action, flags, fixed-counter bitmap, events); the destination
 * refuses the migration unless it has installed the same filter.  A VM
 * without a filter sends nothing, so it migrates as it always did.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "migration/vmstate.h"
#include "system/kvm_int.h"
#include "kvm_i386.h"
#include "pmu-filter.h"
#include "trace.h"

#define DIGEST_LEN 32   /* SHA-256 */

typedef struct PMUFilterDigest {
    uint8_t digest[DIGEST_LEN];
    uint32_t id_len;
    char *id;
} PMUFilterDigest;

static PMUFilterDigest migration_digest;

/* The installed filter's ID and digest; false if there is none */
static bool installed_digest(PMUFilterDigest *d)
{
    const char *id = kvm_state->pmu_filter;
    KVMPMUFilter *filter = id ? kvm_pmu_filter_find(id, NULL) : NULL;
    g_autofree KVMPMUEvent *events = NULL;
    g_autofree struct kvm_pmu_event_filter *kf = NULL;
    g_autoptr(GChecksum) sha = g_checksum_new(G_CHECKSUM_SHA256);
    gsize len = DIGEST_LEN;
    uint32_t nevents;

    if (!filter) {
        return false;
    }
    events = kvm_pmu_filter_get_events(filter, &nevents);
    kf = kvm_x86_pmu_filter_encode(
        kvm_pmu_filter_get_action(filter), events, nevents,
        kvm_pmu_filter_get_x86_fixed_counter_bitmap(filter));
    g_checksum_update(sha, (const guchar *)kf,
                      sizeof(*kf) + nevents * sizeof(kf->events[0]));
    g_checksum_get_digest(sha, d->digest, &len);
    g_free(d->id);
    d->id = g_strdup(id);
    d->id_len = strlen(id) + 1;
    return true;
}

static bool pmu_filter_needed(void *opaque)
{
    return kvm_state->pmu_filter != NULL;
}

static int pmu_filter_pre_save(void *opaque)
{
    return installed_digest(opaque) ? 0 : -EINVAL;
}

static bool pmu_filter_post_load(void *opaque, int version_id, Error **errp)
{
    PMUFilterDigest *incoming = opaque;
    PMUFilterDigest here = { };
    bool same;

    if (!incoming->id_len || incoming->id[incoming->id_len - 1]) {
        error_setg(errp, "PMU event filter ID of the migration source is "
                   "not a string");
        return false;
    }
    if (!installed_digest(&here)) {
        error_setg(errp, "the migration source has PMU event filter '%s', "
                   "this destination has none", incoming->id);
        return false;
    }
    same = !memcmp(here.digest, incoming->digest, DIGEST_LEN);
    trace_kvm_x86_pmu_filter_migrated(incoming->id, here.id, same);
    if (!same) {
        error_setg(errp, "PMU event filter '%s' of the migration source "
                   "differs from filter '%s' of this destination",
                   incoming->id, here.id);
    }
    g_free(here.id);
    return same;
}

static const VMStateDescription vmstate_kvm_pmu_filter = {
    .name = "kvm-pmu-filter",
    .version_id = 1,
    .minimum_version_id = 1,
    /* Sent first, so that a mismatch stops the migration at once */
    .early_setup = true,
    .needed = pmu_filter_needed,
    .pre_save = pmu_filter_pre_save,
    .post_load_errp = pmu_filter_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(digest, PMUFilterDigest, DIGEST_LEN),
        VMSTATE_UINT32(id_len, PMUFilterDigest),
        VMSTATE_VBUFFER_ALLOC_UINT32(id, PMUFilterDigest, 0, NULL, id_len),
        VMSTATE_END_OF_LIST()
    }
};

void kvm_x86_pmu_filter_migration_init(void)
{
    vmstate_register(NULL, 0, &vmstate_kvm_pmu_filter, &migration_digest);
}
