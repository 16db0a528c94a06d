# SPDX-License-Identifier: GPL-2.0-or-later
"""pmu-policy: KVM PMU event filters from perf's event names and policies."""
