# SPDX-License-Identifier: GPL-2.0-or-later
# kvm-pmu-filter: build QEMU from Debian's source with our series on top.
# See README.md.  Every target does its own set-up, so `make run` and
# `make check` work on a fresh machine.

SHELL := /bin/bash
H := harness
NINJA_TARGETS := qemu-system-x86_64

.PHONY: all build deps source configure run check clean distclean reset \
	docs series check-series bench check-asan fuzz refresh backport \
	check-backport check-arm64 check-backport-arm64 \
	check-libvirt libvirt-series libvirt-refresh

all: build

deps:
	@$(H)/deps.sh

source: deps
	@$(H)/materialize.sh

configure: source
	@$(H)/configure.sh

build: configure
	@$(H)/build.sh

run: build
	@$(H)/run.sh $(if $(FILTER),"$(FILTER)")

check: build
	@$(H)/check.sh

# The series for Debian stable's QEMU (10.0), and its proof
backport: deps
	@$(H)/backport.sh

check-backport: backport
	@$(H)/check-backport.sh

check-backport-arm64: backport
	@$(H)/deps.sh arm64
	@$(H)/check-backport.sh arm64

# The arm64 glue, cross-built for an arm64 host, tests under qemu-user
check-arm64: source
	@$(H)/deps.sh arm64
	@$(H)/check-arm64.sh

docs: source
	@$(H)/deps.sh docs
	@$(H)/docs.sh

series: source
	@$(H)/series.sh

check-series: build
	@$(H)/deps.sh arm64
	@$(H)/check-series.sh

# Our libvirt series on Debian's libvirt source, and its proof
check-libvirt: build
	@$(H)/deps.sh libvirt
	@$(H)/check-libvirt.sh

libvirt-series:
	@$(H)/deps.sh libvirt
	@$(H)/libvirt-source.sh
	@$(H)/libvirt-series.sh

libvirt-refresh:
	@$(H)/libvirt-refresh.sh

bench: build
	@$(H)/deps.sh bench
	@$(H)/bench.sh

check-asan: source
	@$(H)/deps.sh
	@$(H)/check-asan.sh

fuzz: build
	@$(H)/deps.sh fuzz
	@$(H)/fuzz.sh

refresh:
	@$(H)/refresh.sh

reset:
	@git -C build/qemu reset -q --hard && echo "build/qemu reset to the series"

clean:
	rm -rf build

distclean: clean
	rm -rf "$${KPF_SRC_CACHE:-/var/cache/kvm-pmu-filter/src}"
