/*
 * KVM PMU event filter: targets whose KVM has none
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "system/kvm-pmu.h"

bool kvm_arch_pmu_filter_install(KVMState *s, KVMPMUFilter *filter,
                                 Error **errp)
{
    error_setg(errp, "KVM has no PMU event filters for this target");
    return false;
}
